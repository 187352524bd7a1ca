// SPDX-License-Identifier: MIT
#include "logging_p.h"

Q_LOGGING_CATEGORY(lcPool, "mvent.pool", QtInfoMsg)
Q_LOGGING_CATEGORY(lcEvent, "mvent.event", QtInfoMsg)
