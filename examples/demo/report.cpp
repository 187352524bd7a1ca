// SPDX-License-Identifier: MIT
#include "report.h"

#include "common.h"
#include "terminationsignals.h"

#include <csignal>

namespace demo {

namespace {

QString formatLatency(const QVariant &nanoseconds)
{
    if (!nanoseconds.isValid()) {
        return QStringLiteral("-");
    }
    return QStringLiteral("%1 us").arg(nanoseconds.toDouble() / 1000.0, 0, 'f', 1);
}

QString formatCount(const QVariant &count)
{
    return count.isValid() ? QString::number(count.toLongLong()) : QStringLiteral("-");
}

// Returns the text of the report's exit column for child.
QString describeExit(const Child &child)
{
    const QProcess &process = child.process;
    if (child.pid == 0) {
        return QStringLiteral("not started");
    }
    if (process.exitStatus() == QProcess::CrashExit) {
        return QStringLiteral("killed");
    }
    if (child.report.isEmpty()) {
        return QStringLiteral("failed");
    }
    if (process.exitCode() == 0) {
        return QStringLiteral("ok");
    }
    // A child exits with 128 plus the signal number after it reported on SIGINT or SIGTERM.
    if (process.exitCode() == 128 + SIGINT || process.exitCode() == 128 + SIGTERM) {
        return QStringLiteral("stopped");
    }
    return QStringLiteral("failed");
}

} // namespace

int printReport(const std::vector<std::unique_ptr<Child>> &children,
                const QList<Child *> &consumers, const QList<Child *> &producers,
                const RunEnd &end)
{
    const QStringList header{ QStringLiteral("process"),  QStringLiteral("pid"),
                              QStringLiteral("exit"),     QStringLiteral("sent"),
                              QStringLiteral("received"), QStringLiteral("lost"),
                              QStringLiteral("latency p50"), QStringLiteral("latency p99") };
    QList<QStringList> rows{ header };
    bool success = true;
    for (const std::unique_ptr<Child> &child : children) {
        const QVariantMap &report = child->report;
        const bool exitedCleanly = child->process.exitStatus() == QProcess::NormalExit
                && child->process.exitCode() == 0 && !report.isEmpty();
        success = success && exitedCleanly;
        const bool isConsumer = consumers.contains(child.get());
        if (isConsumer) {
            success = success && report.value(QStringLiteral("lost")).toLongLong() == 0;
        }
        rows.append({ child->role,
                      child->pid == 0 ? QStringLiteral("-") : QString::number(child->pid),
                      describeExit(*child),
                      formatCount(report.value(QStringLiteral("sent"))),
                      isConsumer ? formatCount(report.value(QStringLiteral("received")))
                                 : QStringLiteral("-"),
                      isConsumer ? formatCount(report.value(QStringLiteral("lost")))
                                 : QStringLiteral("-"),
                      formatLatency(report.value(QStringLiteral("p50Ns"))),
                      formatLatency(report.value(QStringLiteral("p99Ns"))) });
    }

    // Each consumer's "sent" comes from its producer's done event, so check it against the
    // count that the producer reported itself.
    for (int i = 0; i < consumers.size() && i < producers.size(); ++i) {
        const QVariant consumerSent = consumers.at(i)->report.value(QStringLiteral("sent"));
        const QVariant producerSent = producers.at(i)->report.value(QStringLiteral("sent"));
        if (!consumerSent.isValid() || consumerSent.toLongLong() != producerSent.toLongLong()) {
            success = false;
        }
    }

    QList<qsizetype> widths(header.size(), 0);
    for (const QStringList &row : std::as_const(rows)) {
        for (qsizetype column = 0; column < row.size(); ++column) {
            widths[column] = qMax(widths[column], row.at(column).size());
        }
    }
    printLine(QString());
    printLine(QStringLiteral("== report"));
    for (const QStringList &row : std::as_const(rows)) {
        QString line = row.at(0).leftJustified(widths.at(0));
        for (qsizetype column = 1; column < row.size(); ++column) {
            line += QStringLiteral("  ") + row.at(column).rightJustified(widths.at(column));
        }
        printLine(line);
    }
    printLine(QStringLiteral("latency: publisher's CLOCK_MONOTONIC in the event to the "
                             "consumer's handler call"));
    if (end.stopSignal != 0) {
        printLine(QStringLiteral("result: interrupted by %1, so the table shows the counts up "
                                 "to then")
                          .arg(signalName(end.stopSignal)));
    } else if (end.childFailed) {
        printLine(QStringLiteral("result: FAILED, a process exited early, see the error above"));
    } else if (end.timedOut) {
        printLine(QStringLiteral("result: FAILED, the processes did not finish in time"));
    } else {
        printLine(success ? QStringLiteral("result: ok, every consumer received every event sent")
                          : QStringLiteral("result: FAILED, see the table above"));
    }
    return success ? 0 : 1;
}


} // namespace demo
