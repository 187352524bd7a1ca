// SPDX-License-Identifier: MIT
#include "poollistmodel.h"

namespace mvent::monitor {

PoolListModel::PoolListModel(QObject *parent)
    : KeyedTableModel(parent)
{
}

bool PoolListModel::contains(const QString &name) const
{
    return rowOf(name) >= 0;
}

QString PoolListModel::keyOf(const QString &row) const
{
    return row;
}

QStringList PoolListModel::columnHeaders() const
{
    return {tr("Pool")};
}

QVariant PoolListModel::value(const QString &row, int column) const
{
    Q_UNUSED(column)
    return row;
}

} // namespace mvent::monitor
