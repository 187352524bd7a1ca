// SPDX-License-Identifier: MIT
#pragma once

#include "keyedtablemodel.h"

#include <monitoringtools.h>

namespace mvent::monitor {

/*! Table of the events of one pool, one row per event name, from MonitoringTools::eventStats(). */
class EventStatsModel : public KeyedTableModel<EventInfoStats, QString>
{
    Q_OBJECT

public:
    enum Column {
        NameColumn,
        PublishedColumn,
        ReceivedColumn,
        Rate1sColumn,
        Rate10sColumn,
        Rate60sColumn,
        SubscribersColumn,
        LatencyP50Column,
        LatencyP99Column,
        ColumnCount
    };
    Q_ENUM(Column)

    explicit EventStatsModel(QObject *parent = nullptr);

protected:
    QString keyOf(const EventInfoStats &row) const override;
    QStringList columnHeaders() const override;
    QVariant value(const EventInfoStats &row, int column) const override;
    QString formatText(const EventInfoStats &row, int column) const override;
    QVariant toolTip(const EventInfoStats &row, int column) const override;
};

} // namespace mvent::monitor
