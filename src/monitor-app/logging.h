// SPDX-License-Identifier: MIT
#pragma once

#include <QLoggingCategory>

// The dashboard's category; enable tracing with QT_LOGGING_RULES="mvent.dashboard.debug=true".
Q_DECLARE_LOGGING_CATEGORY(lcDashboard)
