// SPDX-License-Identifier: MIT
#pragma once

#include <QLoggingCategory>

// One category per component; enable tracing with QT_LOGGING_RULES="mvent.pool.debug=true".
Q_DECLARE_LOGGING_CATEGORY(lcPool)
Q_DECLARE_LOGGING_CATEGORY(lcEvent)
