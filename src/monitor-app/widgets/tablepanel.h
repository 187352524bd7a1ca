// SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

class QAbstractItemModel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;

namespace mvent::monitor {

/*!
    A table view over a model with a filter line above it. The view shows the model through a
    QSortFilterProxyModel that sorts on KeyedTableModel::SortRole, so numbers sort as numbers,
    and keeps the rows whose first column contains the filter text, ignoring case.
*/
class TablePanel : public QWidget
{
    Q_OBJECT

public:
    /*! Shows \a model, which the caller owns; \a filterHint is the line edit's placeholder. */
    TablePanel(QAbstractItemModel *model, const QString &filterHint, QWidget *parent = nullptr);

    QTableView *view() const;
    QSortFilterProxyModel *proxy() const;
    QLineEdit *filterEdit() const;

private:
    QTableView *m_view;
    QSortFilterProxyModel *m_proxy;
    QLineEdit *m_filterEdit;
};

} // namespace mvent::monitor
