// SPDX-License-Identifier: MIT
#include "logging.h"

Q_LOGGING_CATEGORY(lcDashboard, "mvent.dashboard", QtInfoMsg)
