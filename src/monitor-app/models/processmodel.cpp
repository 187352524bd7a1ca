// SPDX-License-Identifier: MIT
#include "processmodel.h"

#include "format.h"

#include <QDateTime>

namespace mvent::monitor {

ProcessModel::ProcessModel(QObject *parent)
    : KeyedTableModel(parent)
{
}

std::pair<qint64, qint64> ProcessModel::keyOf(const ProcessInfo &row) const
{
    return {row.pid, row.attachedMs};
}

QStringList ProcessModel::columnHeaders() const
{
    return {tr("PID"),      tr("Name"),   tr("Alive"), tr("Published"),
            tr("Received"), tr("Missed"), tr("Lag")};
}

QVariant ProcessModel::value(const ProcessInfo &row, int column) const
{
    switch (column) {
    case PidColumn:
        return row.pid;
    case NameColumn:
        return row.name;
    case AliveColumn:
        return row.alive;
    case PublishedColumn:
        return row.published;
    case ReceivedColumn:
        return row.received;
    case MissedColumn:
        return row.missed;
    case LagColumn:
        return row.lag;
    default:
        return {};
    }
}

QString ProcessModel::formatText(const ProcessInfo &row, int column) const
{
    switch (column) {
    case AliveColumn:
        return row.alive ? tr("yes") : tr("exited");
    case PublishedColumn:
    case ReceivedColumn:
    case MissedColumn:
    case LagColumn:
        // A process without a stats block has no figures, which differs from zero.
        if (!row.hasStats) {
            return QStringLiteral("–");
        }
        return formatCount(value(row, column).toULongLong());
    default:
        return KeyedTableModel::formatText(row, column);
    }
}

QVariant ProcessModel::toolTip(const ProcessInfo &row, int column) const
{
    Q_UNUSED(column)
    const QString attached = QDateTime::fromMSecsSinceEpoch(row.attachedMs).toString(Qt::ISODate);
    const QString heartbeat = QDateTime::fromMSecsSinceEpoch(row.heartbeatMs).toString(Qt::ISODate);
    if (!row.hasStats) {
        return tr("Attached %1, last heartbeat %2. The pool had no room for this process's "
                  "stats block, so it has no counters.")
                .arg(attached, heartbeat);
    }
    return tr("Attached %1, last heartbeat %2, %3 handler calls, %4 handler errors")
            .arg(attached, heartbeat, formatCount(row.handlerCalls),
                 formatCount(row.handlerErrors));
}

} // namespace mvent::monitor
