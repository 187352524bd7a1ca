// SPDX-License-Identifier: MIT
// The dashboard's table models and chart history with figures built in the test: how
// setRows() turns a new list into insert, change and remove signals, and how values sort.

#include <eventstatsmodel.h>
#include <format.h>
#include <handlerstatsmodel.h>
#include <memorystatsmodel.h>
#include <poollistmodel.h>
#include <processmodel.h>
#include <serieshistory.h>

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTest>

using namespace mvent;
using namespace mvent::monitor;

namespace {

EventInfoStats eventStats(const QString &name, quint64 published)
{
    EventInfoStats stats;
    stats.name = name;
    stats.published = published;
    stats.received = published;
    stats.subscribers = 1;
    return stats;
}

QStringList names(const EventStatsModel &model)
{
    QStringList result;
    for (const EventInfoStats &row : model.rows()) {
        result.append(row.name);
    }
    return result;
}

} // namespace

class tst_MonitorModels : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void setRowsInsertsChangesAndRemoves();
    void unchangedRowsEmitNoDataChanged();
    void changedRowsShareOneDataChanged();
    void duplicateKeysKeepFirstRow();
    void proxySortsNumbersAsNumbers();
    void thousandEventsUpdateInPlace();
    void processesWithReusedPidAreDistinct();
    void emptyHistogramShowsDash();
    void fragmentationOfFreeHeap_data();
    void fragmentationOfFreeHeap();
    void memoryModelClearsWithoutPool();
    void poolListFollowsNames();
    void historyKeepsMaxSamples();
    void historyDropsSeriesThatStop();
    void formatsUnits();
};

void tst_MonitorModels::setRowsInsertsChangesAndRemoves()
{
    EventStatsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setRows({eventStats(QStringLiteral("a"), 1), eventStats(QStringLiteral("b"), 2),
                   eventStats(QStringLiteral("c"), 3)});
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.columnCount(), int(EventStatsModel::ColumnCount));

    const QPersistentModelIndex b = model.index(1, EventStatsModel::PublishedColumn);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QVERIFY(inserted.isValid());
    QVERIFY(removed.isValid());
    QVERIFY(changed.isValid());
    QVERIFY(reset.isValid());

    model.setRows({eventStats(QStringLiteral("d"), 4), eventStats(QStringLiteral("b"), 20)});

    QCOMPARE(names(model), (QStringList{QStringLiteral("b"), QStringLiteral("d")}));
    QCOMPARE(reset.count(), 0);
    QCOMPARE(removed.count(), 2);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(changed.count(), 1);
    QVERIFY(b.isValid());
    QCOMPARE(b.row(), 0);
    QCOMPARE(b.data(EventStatsModel::SortRole).toULongLong(), 20ull);
    QCOMPARE(b.data().toString(), QStringLiteral("20"));
}

void tst_MonitorModels::unchangedRowsEmitNoDataChanged()
{
    EventStatsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    const QList<EventInfoStats> rows{eventStats(QStringLiteral("a"), 1), eventStats(QStringLiteral("b"), 2)};
    model.setRows(rows);

    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QVERIFY(changed.isValid());
    model.setRows(rows);
    QCOMPARE(changed.count(), 0);
}

void tst_MonitorModels::changedRowsShareOneDataChanged()
{
    EventStatsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setRows({eventStats(QStringLiteral("a"), 1), eventStats(QStringLiteral("b"), 2),
                   eventStats(QStringLiteral("c"), 3), eventStats(QStringLiteral("d"), 4)});

    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QVERIFY(changed.isValid());
    model.setRows({eventStats(QStringLiteral("a"), 10), eventStats(QStringLiteral("b"), 20),
                   eventStats(QStringLiteral("c"), 3), eventStats(QStringLiteral("d"), 40)});

    QCOMPARE(changed.count(), 2);
    QCOMPARE(changed.at(0).at(0).toModelIndex().row(), 0);
    QCOMPARE(changed.at(0).at(1).toModelIndex().row(), 1);
    QCOMPARE(changed.at(1).at(0).toModelIndex().row(), 3);
    QCOMPARE(changed.at(1).at(1).toModelIndex().row(), 3);
    QCOMPARE(changed.at(1).at(1).toModelIndex().column(), int(EventStatsModel::ColumnCount) - 1);
}

void tst_MonitorModels::duplicateKeysKeepFirstRow()
{
    EventStatsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setRows({eventStats(QStringLiteral("a"), 1), eventStats(QStringLiteral("a"), 2)});
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.rowAt(0).published, 1ull);

    model.setRows({eventStats(QStringLiteral("a"), 5), eventStats(QStringLiteral("a"), 6)});
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.rowAt(0).published, 5ull);
}

void tst_MonitorModels::proxySortsNumbersAsNumbers()
{
    EventStatsModel model;
    model.setRows({eventStats(QStringLiteral("a"), 9), eventStats(QStringLiteral("b"), 10),
                   eventStats(QStringLiteral("c"), 1000)});
    QSortFilterProxyModel proxy;
    proxy.setSourceModel(&model);
    proxy.setSortRole(EventStatsModel::SortRole);
    proxy.sort(EventStatsModel::PublishedColumn, Qt::AscendingOrder);

    QCOMPARE(proxy.index(0, 0).data().toString(), QStringLiteral("a"));
    QCOMPARE(proxy.index(1, 0).data().toString(), QStringLiteral("b"));
    QCOMPARE(proxy.index(2, 0).data().toString(), QStringLiteral("c"));
    QCOMPARE(proxy.index(2, EventStatsModel::PublishedColumn).data().toString(),
             QStringLiteral("1,000"));

    // An update that reorders the values reorders the sorted view without a reset.
    model.setRows({eventStats(QStringLiteral("a"), 2000), eventStats(QStringLiteral("b"), 10),
                   eventStats(QStringLiteral("c"), 1000)});
    QCOMPARE(proxy.index(2, 0).data().toString(), QStringLiteral("a"));
}

void tst_MonitorModels::thousandEventsUpdateInPlace()
{
    EventStatsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QList<EventInfoStats> rows;
    for (int i = 0; i < 1000; ++i) {
        rows.append(eventStats(QStringLiteral("event-%1").arg(i), quint64(i)));
    }
    model.setRows(rows);
    QCOMPARE(model.rowCount(), 1000);

    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QVERIFY(inserted.isValid());
    QVERIFY(changed.isValid());
    for (EventInfoStats &row : rows) {
        ++row.published;
    }
    model.setRows(rows);
    QCOMPARE(model.rowCount(), 1000);
    QCOMPARE(inserted.count(), 0);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(model.rowAt(999).published, 1000ull);
}

void tst_MonitorModels::processesWithReusedPidAreDistinct()
{
    ProcessModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    ProcessInfo exited;
    exited.pid = 42;
    exited.attachedMs = 1000;
    exited.hasStats = true;
    ProcessInfo reused = exited;
    reused.attachedMs = 2000;
    reused.alive = true;

    model.setRows({exited, reused});
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.index(0, ProcessModel::AliveColumn).data().toString(), QStringLiteral("exited"));
    QCOMPARE(model.index(1, ProcessModel::AliveColumn).data().toString(), QStringLiteral("yes"));

    ProcessInfo withoutStats = reused;
    withoutStats.hasStats = false;
    model.setRows({withoutStats});
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.index(0, ProcessModel::PublishedColumn).data().toString(), QStringLiteral("–"));
}

void tst_MonitorModels::emptyHistogramShowsDash()
{
    HandlerStatsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    HandlerStats idle;
    idle.name = QStringLiteral("idle#1");
    HandlerStats busy;
    busy.name = QStringLiteral("busy#2");
    busy.calls = 3;
    busy.duration.count = 3;
    busy.duration.p99Ns = 1500;
    model.setRows({idle, busy});

    QCOMPARE(model.index(0, HandlerStatsModel::P99Column).data().toString(), QStringLiteral("–"));
    QCOMPARE(model.index(1, HandlerStatsModel::P99Column).data().toString(),
             QStringLiteral("1.50 µs"));
    QCOMPARE(model.index(1, HandlerStatsModel::P99Column).data(HandlerStatsModel::SortRole)
                     .toLongLong(),
             1500);
}

void tst_MonitorModels::fragmentationOfFreeHeap_data()
{
    QTest::addColumn<qint64>("freeBytes");
    QTest::addColumn<qint64>("largestFreeBlock");
    QTest::addColumn<double>("expected");

    QTest::newRow("one free block") << qint64(4096) << qint64(4096) << 0.0;
    QTest::newRow("quarter in largest") << qint64(4000) << qint64(1000) << 0.75;
    QTest::newRow("full heap") << qint64(0) << qint64(0) << 0.0;
}

void tst_MonitorModels::fragmentationOfFreeHeap()
{
    QFETCH(qint64, freeBytes);
    QFETCH(qint64, largestFreeBlock);
    QFETCH(double, expected);

    PoolStats stats;
    stats.name = QStringLiteral("pool");
    stats.freeBytes = freeBytes;
    stats.largestFreeBlock = largestFreeBlock;
    QCOMPARE(fragmentation(stats), expected);

    MemoryStatsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setStats(stats);
    const int row = model.rowOf(QStringLiteral("Fragmentation"));
    QVERIFY(row >= 0);
    QCOMPARE(model.index(row, MemoryStatsModel::ValueColumn).data(MemoryStatsModel::SortRole)
                     .toDouble(),
             expected);
}

void tst_MonitorModels::memoryModelClearsWithoutPool()
{
    MemoryStatsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    PoolStats stats;
    stats.name = QStringLiteral("pool");
    stats.usedBytes = 2048;
    model.setStats(stats);
    QVERIFY(model.rowCount() > 0);
    const int used = model.rowOf(QStringLiteral("Used"));
    QVERIFY(used >= 0);
    QCOMPARE(model.index(used, MemoryStatsModel::ValueColumn).data().toString(),
             QStringLiteral("2.00 KiB"));

    model.setStats(PoolStats());
    QCOMPARE(model.rowCount(), 0);
}

void tst_MonitorModels::poolListFollowsNames()
{
    PoolListModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setRows({QStringLiteral("one"), QStringLiteral("two")});
    QVERIFY(model.contains(QStringLiteral("two")));

    model.setRows({QStringLiteral("two"), QStringLiteral("three")});
    QCOMPARE(model.rowCount(), 2);
    QVERIFY(!model.contains(QStringLiteral("one")));
    QVERIFY(model.contains(QStringLiteral("three")));
    QCOMPARE(model.index(0, 0).data().toString(), QStringLiteral("two"));
}

void tst_MonitorModels::historyKeepsMaxSamples()
{
    SeriesHistory history(300);
    QSignalSpy changed(&history, &SeriesHistory::changed);
    QVERIFY(changed.isValid());
    for (int i = 0; i < 1000; ++i) {
        history.append(i * 1000, {{QStringLiteral("a"), double(i)}, {QStringLiteral("b"), 1.0}});
    }

    QCOMPARE(changed.count(), 1000);
    QCOMPARE(history.points(QStringLiteral("a")).size(), 300);
    QCOMPARE(history.points(QStringLiteral("b")).size(), 300);
    QCOMPARE(history.firstTimeMs(), 700 * 1000);
    QCOMPARE(history.lastTimeMs(), 999 * 1000);
    QCOMPARE(history.points(QStringLiteral("a")).first(), QPointF(700 * 1000, 700));
    QCOMPARE(history.maxValue(), 999.0);
}

void tst_MonitorModels::historyDropsSeriesThatStop()
{
    SeriesHistory history(3);
    history.append(1, {{QStringLiteral("gone"), 1.0}, {QStringLiteral("stays"), 1.0}});
    history.append(2, {{QStringLiteral("stays"), 2.0}});
    history.append(3, {{QStringLiteral("stays"), 3.0}});
    QCOMPARE(history.seriesNames(), (QStringList{QStringLiteral("gone"), QStringLiteral("stays")}));

    history.append(4, {{QStringLiteral("stays"), 4.0}});
    QCOMPARE(history.seriesNames(), QStringList{QStringLiteral("stays")});
    QCOMPARE(history.points(QStringLiteral("gone")).size(), 0);

    history.clear();
    QVERIFY(history.seriesNames().isEmpty());
    QCOMPARE(history.lastTimeMs(), 0);
}

void tst_MonitorModels::formatsUnits()
{
    QCOMPARE(formatBytes(512), QStringLiteral("512 B"));
    QCOMPARE(formatBytes(16 * 1024 * 1024), QStringLiteral("16.0 MiB"));
    QCOMPARE(formatDuration(999), QStringLiteral("999 ns"));
    QCOMPARE(formatDuration(2'500'000), QStringLiteral("2.50 ms"));
    QCOMPARE(formatRate(0), QStringLiteral("0"));
    QCOMPARE(formatRate(1234.4), QStringLiteral("1,234/s"));
    QCOMPARE(formatPercent(0.125), QStringLiteral("12.5 %"));
    QCOMPARE(formatCount(1234567), QStringLiteral("1,234,567"));
}

QTEST_GUILESS_MAIN(tst_MonitorModels)
#include "tst_monitormodels.moc"
