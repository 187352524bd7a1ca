// SPDX-License-Identifier: MIT
#pragma once

#include <QAbstractTableModel>
#include <QHash>
#include <QList>
#include <QStringList>

namespace mvent::monitor {

/*!
    Base of the dashboard's table models: a list of rows of type \a Row, each identified by a
    key of type \a Key.

    setRows() replaces the rows by comparing keys with the current ones. It removes rows whose
    key is gone, emits dataChanged() for rows whose column values changed and appends rows with
    new keys, so views keep their selection, scroll position and sort order across refreshes.
    A subclass supplies the key, the column headers and a raw value per column; DisplayRole
    shows formatText() of that value and SortRole returns the raw value, so a
    QSortFilterProxyModel with setSortRole(SortRole) sorts numbers as numbers.
*/
template<typename Row, typename Key>
class KeyedTableModel : public QAbstractTableModel
{
public:
    enum Role { SortRole = Qt::UserRole + 1 };

    using QAbstractTableModel::QAbstractTableModel;

    int rowCount(const QModelIndex &parent = QModelIndex()) const override
    {
        return parent.isValid() ? 0 : int(m_rows.size());
    }

    int columnCount(const QModelIndex &parent = QModelIndex()) const override
    {
        return parent.isValid() ? 0 : int(columnHeaders().size());
    }

    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override
    {
        if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
            return {};
        }

        const Row &row = m_rows.at(index.row());
        switch (role) {
        case Qt::DisplayRole:
            return formatText(row, index.column());
        case Qt::ToolTipRole:
            return toolTip(row, index.column());
        case Qt::TextAlignmentRole:
            return QVariant::fromValue(index.column() == 0 ? Qt::AlignLeft | Qt::AlignVCenter
                                                           : Qt::AlignRight | Qt::AlignVCenter);
        case SortRole:
            return value(row, index.column());
        default:
            return {};
        }
    }

    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override
    {
        const QStringList headers = columnHeaders();
        if (orientation != Qt::Horizontal || section < 0 || section >= headers.size()) {
            return QAbstractTableModel::headerData(section, orientation, role);
        }
        if (role == Qt::DisplayRole) {
            return headers.at(section);
        }
        return {};
    }

    /*! Returns the row at \a row; \a row must be in [0, rowCount()). */
    const Row &rowAt(int row) const { return m_rows.at(row); }

    /*! Returns the row index of \a key, or -1 if no row has it. */
    int rowOf(const Key &key) const { return m_rowByKey.value(key, -1); }

    const QList<Row> &rows() const { return m_rows; }

    /*!
        Replaces the rows with \a rows, matched by key as described for the class. Of
        several rows with one key, the first is kept. New rows are appended in the order of
        \a rows, and the existing rows keep their order.
    */
    void setRows(const QList<Row> &rows)
    {
        QHash<Key, qsizetype> incoming;
        incoming.reserve(rows.size());
        for (qsizetype i = 0; i < rows.size(); ++i) {
            incoming.insert(keyOf(rows.at(i)), i);
        }
        // QHash::insert overwrote earlier duplicates, so point each key back at its first row.
        for (qsizetype i = rows.size() - 1; i >= 0; --i) {
            incoming[keyOf(rows.at(i))] = i;
        }

        removeMissingRows(incoming);
        updateExistingRows(rows, incoming);
        appendNewRows(rows, incoming);
    }

protected:
    /*! Returns the key that identifies \a row across refreshes. */
    virtual Key keyOf(const Row &row) const = 0;
    /*! Returns the column titles; their number is the column count. */
    virtual QStringList columnHeaders() const = 0;
    /*! Returns the raw, sortable value of \a column of \a row. */
    virtual QVariant value(const Row &row, int column) const = 0;

    /*! Returns the text shown for \a column of \a row; the raw value as text by default. */
    virtual QString formatText(const Row &row, int column) const
    {
        return value(row, column).toString();
    }

    virtual QVariant toolTip(const Row &row, int column) const
    {
        Q_UNUSED(row)
        Q_UNUSED(column)
        return {};
    }

private:
    bool rowsDiffer(const Row &current, const Row &incoming, int columns) const
    {
        for (int column = 0; column < columns; ++column) {
            if (value(current, column) != value(incoming, column)) {
                return true;
            }
        }
        return false;
    }

    // Removes the rows whose key is not in incoming, one contiguous range at a time, from the
    // end so the indexes of the ranges still to remove stay valid.
    void removeMissingRows(const QHash<Key, qsizetype> &incoming)
    {
        int last = int(m_rows.size()) - 1;
        while (last >= 0) {
            if (incoming.contains(keyOf(m_rows.at(last)))) {
                --last;
                continue;
            }
            int first = last;
            while (first > 0 && !incoming.contains(keyOf(m_rows.at(first - 1)))) {
                --first;
            }
            beginRemoveRows(QModelIndex(), first, last);
            m_rows.remove(first, last - first + 1);
            endRemoveRows();
            last = first - 1;
        }

        m_rowByKey.clear();
        for (qsizetype i = 0; i < m_rows.size(); ++i) {
            m_rowByKey.insert(keyOf(m_rows.at(i)), int(i));
        }
    }

    // Copies the incoming values into the kept rows and signals each contiguous range of rows
    // whose columns changed with one dataChanged().
    void updateExistingRows(const QList<Row> &rows, const QHash<Key, qsizetype> &incoming)
    {
        const int columns = columnCount();
        int changedFirst = -1;
        for (int i = 0; i < int(m_rows.size()); ++i) {
            const Row &next = rows.at(incoming.value(keyOf(m_rows.at(i))));
            const bool changed = rowsDiffer(m_rows.at(i), next, columns);
            m_rows[i] = next;

            if (changed && changedFirst < 0) {
                changedFirst = i;
            } else if (!changed && changedFirst >= 0) {
                Q_EMIT dataChanged(index(changedFirst, 0), index(i - 1, columns - 1));
                changedFirst = -1;
            }
        }
        if (changedFirst >= 0) {
            Q_EMIT dataChanged(index(changedFirst, 0), index(int(m_rows.size()) - 1, columns - 1));
        }
    }

    void appendNewRows(const QList<Row> &rows, const QHash<Key, qsizetype> &incoming)
    {
        QList<Row> added;
        for (qsizetype i = 0; i < rows.size(); ++i) {
            const Key key = keyOf(rows.at(i));
            if (incoming.value(key) == i && !m_rowByKey.contains(key)) {
                added.append(rows.at(i));
            }
        }
        if (added.isEmpty()) {
            return;
        }

        const int first = int(m_rows.size());
        beginInsertRows(QModelIndex(), first, first + int(added.size()) - 1);
        for (const Row &row : std::as_const(added)) {
            m_rowByKey.insert(keyOf(row), int(m_rows.size()));
            m_rows.append(row);
        }
        endInsertRows();
    }

    QList<Row> m_rows;
    QHash<Key, int> m_rowByKey;
};

} // namespace mvent::monitor
