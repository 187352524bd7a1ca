// SPDX-License-Identifier: MIT
#pragma once

#include <QStringList>

namespace mvent::cli {

/*!
    Runs "mvent emit POOL EVENT VALUE": publishes one event. \a arguments follow the command
    name. Returns the process exit code (see ExitCode).
*/
int runEmit(const QStringList &arguments);

/*!
    Runs "mvent watch POOL [EVENT...]": prints one JSON line per received event until --count
    events were printed, SIGINT or SIGTERM arrives, or the pool is destroyed. Returns the
    process exit code.
*/
int runWatch(const QStringList &arguments);

} // namespace mvent::cli
