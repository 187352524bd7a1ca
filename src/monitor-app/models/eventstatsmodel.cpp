// SPDX-License-Identifier: MIT
#include "eventstatsmodel.h"

#include "format.h"

namespace mvent::monitor {

EventStatsModel::EventStatsModel(QObject *parent)
    : KeyedTableModel(parent)
{
}

QString EventStatsModel::keyOf(const EventInfoStats &row) const
{
    return row.name;
}

QStringList EventStatsModel::columnHeaders() const
{
    return {tr("Event"),         tr("Published"),   tr("Received"),
            tr("Rate 1 s"),      tr("Rate 10 s"),   tr("Rate 60 s"),
            tr("Subscribers"),   tr("Latency p50"), tr("Latency p99")};
}

QVariant EventStatsModel::value(const EventInfoStats &row, int column) const
{
    switch (column) {
    case NameColumn:
        return row.name;
    case PublishedColumn:
        return row.published;
    case ReceivedColumn:
        return row.received;
    case Rate1sColumn:
        return row.rate1s;
    case Rate10sColumn:
        return row.rate10s;
    case Rate60sColumn:
        return row.rate60s;
    case SubscribersColumn:
        return row.subscribers;
    case LatencyP50Column:
        return row.latency.p50Ns;
    case LatencyP99Column:
        return row.latency.p99Ns;
    default:
        return {};
    }
}

QString EventStatsModel::formatText(const EventInfoStats &row, int column) const
{
    switch (column) {
    case PublishedColumn:
        return formatCount(row.published);
    case ReceivedColumn:
        return formatCount(row.received);
    case Rate1sColumn:
        return formatRate(row.rate1s);
    case Rate10sColumn:
        return formatRate(row.rate10s);
    case Rate60sColumn:
        return formatRate(row.rate60s);
    case LatencyP50Column:
    case LatencyP99Column:
        // Without deliveries the histogram is empty and its percentiles mean nothing.
        if (row.latency.count == 0) {
            return QStringLiteral("–");
        }
        return formatDuration(column == LatencyP50Column ? row.latency.p50Ns : row.latency.p99Ns);
    default:
        return KeyedTableModel::formatText(row, column);
    }
}

QVariant EventStatsModel::toolTip(const EventInfoStats &row, int column) const
{
    if (column == LatencyP50Column || column == LatencyP99Column) {
        return tr("%1 deliveries, mean %2, max %3 (publish to delivery)")
                .arg(formatCount(row.latency.count), formatDuration(row.latency.meanNs),
                     formatDuration(row.latency.maxNs));
    }
    if (column == PublishedColumn) {
        return tr("%1 of encoded values").arg(formatBytes(qint64(row.bytes)));
    }
    return {};
}

} // namespace mvent::monitor
