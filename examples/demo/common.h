// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>
#include <QVariantMap>

namespace demo {

// Event names. Every event value is a QVariantMap with the publisher's CLOCK_MONOTONIC time
// under SentNsKey, so a consumer can compute the delivery latency.
inline constexpr char CpuEvent[] = "system.cpu";
inline constexpr char MemoryEvent[] = "system.memory";
inline constexpr char NetworkEvent[] = "system.network";
inline constexpr char LoadEvent[] = "system.load";
inline constexpr char LineEvent[] = "text.line";
// Published last by each producer with the producer's role and the number of events it sent.
inline constexpr char DoneEvent[] = "demo.done";
inline constexpr char SentNsKey[] = "sentNs";

// Process roles, passed to the child processes with --role.
inline constexpr char SystemProducerRole[] = "system-producer";
inline constexpr char TextProducerRole[] = "text-producer";
inline constexpr char SystemConsumerRole[] = "system-consumer";
inline constexpr char TextConsumerRole[] = "text-consumer";

// A child prints ReadyLine once it is subscribed, and ReportPrefix followed by a JSON object
// as its last line. Every other line is live output for the orchestrator to show.
inline constexpr char ReadyLine[] = "ready";
inline constexpr char ReportPrefix[] = "report ";

// Returns CLOCK_MONOTONIC in nanoseconds; the clock is the same in every process on Linux.
qint64 monotonicNs();

// Returns the value at quantile q (0 to 1) of samples with the nearest-rank method, 0 if empty.
qint64 percentile(QList<qint64> samples, double q);

// Writes line and a newline to standard output and flushes it, because the orchestrator
// reads it through a pipe.
void printLine(const QString &line);

// Prints the report line with the fields of report.
void printReport(const QVariantMap &report);

// Formats a byte count with binary units, such as "1.5 MiB".
QString formatBytes(double bytes);

} // namespace demo
