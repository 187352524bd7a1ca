// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <memory>

namespace mvent {
class MonitoringTools;
}

namespace mvent::cli {

/*!
    Opens MonitoringTools on the existing pool \a poolName without a process slot. Returns
    nullptr after printing the error when the pool cannot be opened.
*/
std::unique_ptr<MonitoringTools> openMonitoring(const QString &poolName);

/*!
    Returns the per-event and per-handler tables of \a tools, each under a heading and after a
    blank line, or a line saying that none were recorded.
*/
QByteArray eventAndHandlerTables(const MonitoringTools &tools);

/*!
    Runs "mvent metrics [POOL...]": serves the figures of the pools over HTTP at /metrics in
    the Prometheus text format until SIGINT or SIGTERM arrives. Returns the process exit code.
*/
int runMetrics(const QStringList &arguments);

/*!
    Runs "mvent top POOL": prints the figures of a pool every --interval milliseconds, on a
    cleared screen when standard output is a terminal. Returns the process exit code.
*/
int runTop(const QStringList &arguments);

} // namespace mvent::cli
