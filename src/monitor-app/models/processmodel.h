// SPDX-License-Identifier: MIT
#pragma once

#include "keyedtablemodel.h"

#include <monitoringtools.h>

#include <utility>

namespace mvent::monitor {

/*!
    Table of the processes of one pool, from MonitoringTools::processes(). A row is keyed by
    process id and attach time, because an exited process stays listed until its slot is reused
    and the system may give its id to a new process meanwhile.
*/
class ProcessModel : public KeyedTableModel<ProcessInfo, std::pair<qint64, qint64>>
{
    Q_OBJECT

public:
    enum Column {
        PidColumn,
        NameColumn,
        AliveColumn,
        PublishedColumn,
        ReceivedColumn,
        MissedColumn,
        LagColumn,
        ColumnCount
    };
    Q_ENUM(Column)

    explicit ProcessModel(QObject *parent = nullptr);

protected:
    std::pair<qint64, qint64> keyOf(const ProcessInfo &row) const override;
    QStringList columnHeaders() const override;
    QVariant value(const ProcessInfo &row, int column) const override;
    QString formatText(const ProcessInfo &row, int column) const override;
    QVariant toolTip(const ProcessInfo &row, int column) const override;
};

} // namespace mvent::monitor
