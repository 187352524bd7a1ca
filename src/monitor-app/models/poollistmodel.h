// SPDX-License-Identifier: MIT
#pragma once

#include "keyedtablemodel.h"

namespace mvent::monitor {

/*! One-column list of pool names, as SharedMemoryPool::pools() returns them. */
class PoolListModel : public KeyedTableModel<QString, QString>
{
    Q_OBJECT

public:
    explicit PoolListModel(QObject *parent = nullptr);

    /*! Returns true if a pool called \a name is listed. */
    bool contains(const QString &name) const;

protected:
    QString keyOf(const QString &row) const override;
    QStringList columnHeaders() const override;
    QVariant value(const QString &row, int column) const override;
};

} // namespace mvent::monitor
