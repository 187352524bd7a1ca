// SPDX-License-Identifier: MIT
#include "memorystatsmodel.h"

#include "format.h"

namespace mvent::monitor {

double fragmentation(const PoolStats &stats)
{
    if (stats.freeBytes <= 0) {
        return 0;
    }
    return 1.0 - double(stats.largestFreeBlock) / double(stats.freeBytes);
}

MemoryStatsModel::MemoryStatsModel(QObject *parent)
    : KeyedTableModel(parent)
{
}

void MemoryStatsModel::setStats(const PoolStats &stats)
{
    if (stats.name.isEmpty()) {
        setRows({});
        return;
    }

    const auto bytes = [](const QString &name, qint64 value) {
        return MemoryFigure{name, value, formatBytes(value)};
    };
    const auto count = [](const QString &name, qint64 value) {
        return MemoryFigure{name, value, formatCount(quint64(value))};
    };
    const double fragmented = fragmentation(stats);

    setRows({
            bytes(tr("Used"), stats.usedBytes),
            bytes(tr("Free"), stats.freeBytes),
            bytes(tr("Largest free block"), stats.largestFreeBlock),
            MemoryFigure{tr("Fragmentation"), fragmented, formatPercent(fragmented)},
            MemoryFigure{tr("Entries"), stats.entryCount,
                         tr("%1 of %2").arg(formatCount(quint64(stats.entryCount)),
                                            formatCount(quint64(stats.maxEntries)))},
            bytes(tr("Heap size"), stats.heapSize),
            bytes(tr("Segment size"), stats.totalSize),
            bytes(tr("Event log size"), stats.eventLogSize),
            count(tr("Events appended"), qint64(stats.eventSequence)),
            MemoryFigure{tr("Attached processes"), stats.attachedProcesses,
                         tr("%1 of %2").arg(stats.attachedProcesses).arg(stats.maxAttachments)},
            count(tr("Recoveries"), qint64(stats.recoveries)),
            MemoryFigure{tr("Backing"), stats.backing, stats.backing},
            MemoryFigure{tr("Path"), stats.path, stats.path},
            MemoryFigure{tr("Created"), stats.createdAt,
                         stats.createdAt.toLocalTime().toString(Qt::ISODate)},
    });
}

QString MemoryStatsModel::keyOf(const MemoryFigure &row) const
{
    return row.name;
}

QStringList MemoryStatsModel::columnHeaders() const
{
    return {tr("Figure"), tr("Value")};
}

QVariant MemoryStatsModel::value(const MemoryFigure &row, int column) const
{
    return column == FigureColumn ? QVariant(row.name) : row.value;
}

QString MemoryStatsModel::formatText(const MemoryFigure &row, int column) const
{
    return column == FigureColumn ? row.name : row.text;
}

} // namespace mvent::monitor
