// SPDX-License-Identifier: MIT
#include "handlerstatsmodel.h"

#include "format.h"

namespace mvent::monitor {

HandlerStatsModel::HandlerStatsModel(QObject *parent)
    : KeyedTableModel(parent)
{
}

QString HandlerStatsModel::keyOf(const HandlerStats &row) const
{
    return row.name;
}

QStringList HandlerStatsModel::columnHeaders() const
{
    return {tr("Handler"), tr("Calls"), tr("Errors"), tr("p50"), tr("p95"), tr("p99"), tr("Max")};
}

QVariant HandlerStatsModel::value(const HandlerStats &row, int column) const
{
    switch (column) {
    case NameColumn:
        return row.name;
    case CallsColumn:
        return row.calls;
    case ErrorsColumn:
        return row.errors;
    case P50Column:
        return row.duration.p50Ns;
    case P95Column:
        return row.duration.p95Ns;
    case P99Column:
        return row.duration.p99Ns;
    case MaxColumn:
        return row.duration.maxNs;
    default:
        return {};
    }
}

QString HandlerStatsModel::formatText(const HandlerStats &row, int column) const
{
    switch (column) {
    case CallsColumn:
        return formatCount(row.calls);
    case ErrorsColumn:
        return formatCount(row.errors);
    case P50Column:
    case P95Column:
    case P99Column:
    case MaxColumn:
        if (row.duration.count == 0) {
            return QStringLiteral("–");
        }
        return formatDuration(value(row, column).toLongLong());
    default:
        return KeyedTableModel::formatText(row, column);
    }
}

} // namespace mvent::monitor
