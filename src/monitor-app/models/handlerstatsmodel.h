// SPDX-License-Identifier: MIT
#pragma once

#include "keyedtablemodel.h"

#include <monitoringtools.h>

namespace mvent::monitor {

/*! Table of the handlers of one pool, from MonitoringTools::handlerStats(). */
class HandlerStatsModel : public KeyedTableModel<HandlerStats, QString>
{
    Q_OBJECT

public:
    enum Column {
        NameColumn,
        CallsColumn,
        ErrorsColumn,
        P50Column,
        P95Column,
        P99Column,
        MaxColumn,
        ColumnCount
    };
    Q_ENUM(Column)

    explicit HandlerStatsModel(QObject *parent = nullptr);

protected:
    QString keyOf(const HandlerStats &row) const override;
    QStringList columnHeaders() const override;
    QVariant value(const HandlerStats &row, int column) const override;
    QString formatText(const HandlerStats &row, int column) const override;
};

} // namespace mvent::monitor
