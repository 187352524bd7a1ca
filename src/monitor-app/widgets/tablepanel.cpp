// SPDX-License-Identifier: MIT
#include "tablepanel.h"

#include "keyedtablemodel.h"

#include <QHeaderView>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

namespace mvent::monitor {

TablePanel::TablePanel(QAbstractItemModel *model, const QString &filterHint, QWidget *parent)
    : QWidget(parent)
    , m_view(new QTableView(this))
    , m_proxy(new QSortFilterProxyModel(this))
    , m_filterEdit(new QLineEdit(this))
{
    // Every KeyedTableModel subclass uses the same role value, whatever its row type.
    m_proxy->setSortRole(KeyedTableModel<QString, QString>::SortRole);
    m_proxy->setFilterKeyColumn(0);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setSourceModel(model);

    m_filterEdit->setPlaceholderText(filterHint);
    m_filterEdit->setClearButtonEnabled(true);
    connect(m_filterEdit, &QLineEdit::textChanged, m_proxy,
            &QSortFilterProxyModel::setFilterFixedString);

    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(0, Qt::AscendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setAlternatingRowColors(true);
    m_view->verticalHeader()->hide();
    // Fixed row heights keep layout cheap with a thousand rows.
    m_view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    m_view->horizontalHeader()->setDefaultSectionSize(88);
    m_view->setColumnWidth(0, 180);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_filterEdit);
    layout->addWidget(m_view);
}

QTableView *TablePanel::view() const
{
    return m_view;
}

QSortFilterProxyModel *TablePanel::proxy() const
{
    return m_proxy;
}

QLineEdit *TablePanel::filterEdit() const
{
    return m_filterEdit;
}

} // namespace mvent::monitor
