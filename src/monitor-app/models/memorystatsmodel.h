// SPDX-License-Identifier: MIT
#pragma once

#include "keyedtablemodel.h"

#include <sharedmemorypool.h>

namespace mvent::monitor {

/*! One line of the memory table: a figure of PoolStats with its raw value and its text. */
struct MemoryFigure
{
    QString name;
    QVariant value;
    QString text;
};

/*! Returns 1 - largestFreeBlock / freeBytes of \a stats, or 0 when the heap has no free bytes. */
double fragmentation(const PoolStats &stats);

/*!
    Two-column table (figure, value) of the memory of one pool: used and free heap bytes,
    entries, fragmentation and the sizes the pool was created with.
*/
class MemoryStatsModel : public KeyedTableModel<MemoryFigure, QString>
{
    Q_OBJECT

public:
    enum Column { FigureColumn, ValueColumn, ColumnCount };
    Q_ENUM(Column)

    explicit MemoryStatsModel(QObject *parent = nullptr);

    /*! Shows the figures of \a stats; an empty PoolStats (no name) clears the table. */
    void setStats(const PoolStats &stats);

protected:
    QString keyOf(const MemoryFigure &row) const override;
    QStringList columnHeaders() const override;
    QVariant value(const MemoryFigure &row, int column) const override;
    QString formatText(const MemoryFigure &row, int column) const override;
};

} // namespace mvent::monitor
