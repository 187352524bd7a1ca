// SPDX-License-Identifier: MIT
// PoolMonitor against real pools: a monitor-traffic helper publishes a known number of events,
// and the models must show exactly those counts.

#include "../trafficprocess.h"

#include <eventstatsmodel.h>
#include <handlerstatsmodel.h>
#include <memorystatsmodel.h>
#include <poollistmodel.h>
#include <poolmonitor.h>
#include <processmodel.h>
#include <serieshistory.h>

#include <sharedmemorypool.h>

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace mvent;
using namespace mvent::monitor;

namespace {

constexpr int FigureTimeoutMs = 30000;

// Returns the SortRole value of column in the row of model whose first column is key.
template<typename Model>
QVariant cell(const Model *model, const QString &key, int column)
{
    for (int row = 0; row < model->rowCount(); ++row) {
        const QModelIndex first = model->index(row, 0);
        if (first.data(Model::SortRole).toString() == key) {
            return model->index(row, column).data(Model::SortRole);
        }
    }
    return {};
}

// Returns the row of the first handler of event, which is named "EVENT#ID", or -1.
int handlerRow(const HandlerStatsModel *handlers, const QString &event)
{
    for (int row = 0; row < handlers->rowCount(); ++row) {
        if (handlers->rowAt(row).name.startsWith(event + QLatin1Char('#'))) {
            return row;
        }
    }
    return -1;
}

} // namespace

class tst_PoolMonitor : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void cleanup();

    void listsPoolsAsTheyComeAndGo();
    void watcherListsNewPoolWithoutTimer();
    void countsMatchPublishedEvents();
    void thousandEventsHundredHandlers();
    void missingPoolReportsError();
    void removedPoolClearsFigures();
    void intervalIsBounded();

private:
    std::unique_ptr<PoolMonitor> createMonitor();

    QStringList m_pools;
    std::vector<std::unique_ptr<QAbstractItemModelTester>> m_testers;
};

std::unique_ptr<PoolMonitor> tst_PoolMonitor::createMonitor()
{
    auto monitor = std::make_unique<PoolMonitor>();
    monitor->setInterval(PoolMonitor::MinIntervalMs);
    const QList<QAbstractItemModel *> models{monitor->poolListModel(), monitor->memoryModel(),
                                             monitor->eventModel(), monitor->handlerModel(),
                                             monitor->processModel()};
    for (QAbstractItemModel *model : models) {
        m_testers.push_back(std::make_unique<QAbstractItemModelTester>(
                model, QAbstractItemModelTester::FailureReportingMode::QtTest));
    }
    return monitor;
}

void tst_PoolMonitor::cleanup()
{
    m_testers.clear();
    for (const QString &pool : std::as_const(m_pools)) {
        SharedMemoryPool::removePool(pool);
    }
    m_pools.clear();
}

void tst_PoolMonitor::listsPoolsAsTheyComeAndGo()
{
    const QString name = uniquePoolName("tst-monitor-list");
    m_pools.append(name);
    auto monitor = createMonitor();
    monitor->start();
    QVERIFY(!monitor->poolListModel()->contains(name));

    auto pool = std::make_unique<SharedMemoryPool>(name);
    QVERIFY2(pool->isAttached(), qPrintable(pool->errorString()));
    QTRY_VERIFY_WITH_TIMEOUT(monitor->poolListModel()->contains(name), FigureTimeoutMs);

    QVERIFY(pool->destroyPool());
    pool.reset();
    QTRY_VERIFY_WITH_TIMEOUT(!monitor->poolListModel()->contains(name), FigureTimeoutMs);
}

void tst_PoolMonitor::watcherListsNewPoolWithoutTimer()
{
    // A first pool makes sure the runtime directory exists, so the watcher can watch it.
    const QString first = uniquePoolName("tst-monitor-watch");
    const QString second = uniquePoolName("tst-monitor-watch");
    m_pools << first << second;
    SharedMemoryPool firstPool(first);
    QVERIFY2(firstPool.isAttached(), qPrintable(firstPool.errorString()));

    auto monitor = createMonitor();
    monitor->refreshPools();
    QVERIFY(!monitor->isRunning());
    QVERIFY(monitor->poolListModel()->contains(first));

    SharedMemoryPool secondPool(second);
    QVERIFY2(secondPool.isAttached(), qPrintable(secondPool.errorString()));
    QTRY_VERIFY_WITH_TIMEOUT(monitor->poolListModel()->contains(second), FigureTimeoutMs);
}

void tst_PoolMonitor::countsMatchPublishedEvents()
{
    const QString name = uniquePoolName("tst-monitor-counts");
    m_pools.append(name);
    TrafficProcess traffic(name, {QStringLiteral("alpha:200"), QStringLiteral("beta:50"),
                                  QStringLiteral("gamma:20:fail")});
    QVERIFY(traffic.waitUntilReady());

    auto monitor = createMonitor();
    QSignalSpy refreshed(monitor.get(), &PoolMonitor::refreshed);
    QVERIFY(refreshed.isValid());
    monitor->setPoolName(name);
    monitor->start();
    QVERIFY(refreshed.count() >= 1);
    QVERIFY2(monitor->isAttached(), qPrintable(monitor->errorString()));

    const EventStatsModel *events = monitor->eventModel();
    QTRY_COMPARE_WITH_TIMEOUT(cell(events, QStringLiteral("alpha"), EventStatsModel::PublishedColumn)
                                      .toULongLong(),
                              200ull, FigureTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(cell(events, QStringLiteral("alpha"), EventStatsModel::ReceivedColumn)
                                      .toULongLong(),
                              200ull, FigureTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(cell(events, QStringLiteral("beta"), EventStatsModel::PublishedColumn)
                                      .toULongLong(),
                              50ull, FigureTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(cell(events, QStringLiteral("beta"), EventStatsModel::ReceivedColumn)
                                      .toULongLong(),
                              50ull, FigureTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(cell(events, QStringLiteral("gamma"), EventStatsModel::PublishedColumn)
                                      .toULongLong(),
                              20ull, FigureTimeoutMs);
    QCOMPARE(events->rowCount(), 3);
    QCOMPARE(cell(events, QStringLiteral("alpha"), EventStatsModel::SubscribersColumn).toInt(), 1);

    const HandlerStatsModel *handlers = monitor->handlerModel();
    QTRY_VERIFY_WITH_TIMEOUT(handlerRow(handlers, QStringLiteral("gamma")) >= 0, FigureTimeoutMs);
    const int alphaRow = handlerRow(handlers, QStringLiteral("alpha"));
    const int gammaRow = handlerRow(handlers, QStringLiteral("gamma"));
    QVERIFY(alphaRow >= 0);
    QTRY_COMPARE_WITH_TIMEOUT(handlers->rowAt(alphaRow).calls, 200ull, FigureTimeoutMs);
    QCOMPARE(handlers->rowAt(alphaRow).errors, 0ull);
    QTRY_COMPARE_WITH_TIMEOUT(handlers->rowAt(gammaRow).calls, 20ull, FigureTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(handlers->rowAt(gammaRow).errors, 20ull, FigureTimeoutMs);

    const ProcessModel *processes = monitor->processModel();
    QTRY_COMPARE_WITH_TIMEOUT(processes->rowCount(), 1, FigureTimeoutMs);
    QCOMPARE(processes->rowAt(0).pid, traffic.pid());
    QVERIFY(processes->rowAt(0).alive);
    QTRY_COMPARE_WITH_TIMEOUT(processes->rowAt(0).published, 270ull, FigureTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(processes->rowAt(0).received, 270ull, FigureTimeoutMs);
    QCOMPARE(processes->rowAt(0).missed, 0ull);

    QVERIFY(monitor->memoryModel()->rowCount() > 0);
    const qint64 before = monitor->refreshCount();
    QTRY_VERIFY_WITH_TIMEOUT(monitor->refreshCount() >= quint64(before + 2), FigureTimeoutMs);
    QCOMPARE(monitor->memoryHistory()->seriesNames().size(), 2);

    traffic.stop();
    QTRY_VERIFY_WITH_TIMEOUT(processes->rowCount() == 0 || !processes->rowAt(0).alive,
                             FigureTimeoutMs);
}

void tst_PoolMonitor::thousandEventsHundredHandlers()
{
    const QString name = uniquePoolName("tst-monitor-large");
    m_pools.append(name);
    QStringList arguments;
    for (int i = 0; i < 1000; ++i) {
        const QString event = QStringLiteral("event-%1").arg(i, 4, 10, QLatin1Char('0'));
        arguments.append(i < 100 ? event + QStringLiteral(":2") : event + QStringLiteral(":1:unhandled"));
    }
    TrafficProcess traffic(name, arguments, {QStringLiteral("--large")});
    QVERIFY(traffic.waitUntilReady());

    auto monitor = createMonitor();
    monitor->setPoolName(name);
    monitor->start();
    QVERIFY2(monitor->isAttached(), qPrintable(monitor->errorString()));

    const EventStatsModel *events = monitor->eventModel();
    QTRY_COMPARE_WITH_TIMEOUT(events->rowCount(), 1000, FigureTimeoutMs);
    const HandlerStatsModel *handlers = monitor->handlerModel();
    QTRY_COMPARE_WITH_TIMEOUT(handlers->rowCount(), 100, FigureTimeoutMs);

    const auto publishedSum = [events] {
        quint64 sum = 0;
        for (const EventInfoStats &row : events->rows()) {
            sum += row.published;
        }
        return sum;
    };
    QTRY_COMPARE_WITH_TIMEOUT(publishedSum(), 100ull * 2 + 900ull, FigureTimeoutMs);
    QCOMPARE(cell(events, QStringLiteral("event-0000"), EventStatsModel::ReceivedColumn)
                     .toULongLong(),
             2ull);
    QCOMPARE(cell(events, QStringLiteral("event-0999"), EventStatsModel::ReceivedColumn)
                     .toULongLong(),
             0ull);
    const auto callSum = [handlers] {
        quint64 sum = 0;
        for (const HandlerStats &row : handlers->rows()) {
            sum += row.calls;
        }
        return sum;
    };
    QTRY_COMPARE_WITH_TIMEOUT(callSum(), 200ull, FigureTimeoutMs);

    // Later refreshes update the rows in place: no row comes or goes.
    QSignalSpy inserted(events, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(events, &QAbstractItemModel::rowsRemoved);
    QVERIFY(inserted.isValid());
    QVERIFY(removed.isValid());
    const quint64 refreshes = monitor->refreshCount();
    QTRY_VERIFY_WITH_TIMEOUT(monitor->refreshCount() >= refreshes + 3, FigureTimeoutMs);
    QCOMPARE(inserted.count(), 0);
    QCOMPARE(removed.count(), 0);
    QCOMPARE(monitor->memoryHistory()->seriesNames().size(), 2);
}

void tst_PoolMonitor::missingPoolReportsError()
{
    const QString name = uniquePoolName("tst-monitor-missing");
    auto monitor = createMonitor();
    QSignalSpy attached(monitor.get(), &PoolMonitor::attachedChanged);
    QVERIFY(attached.isValid());

    monitor->setPoolName(name);
    monitor->refresh();

    QVERIFY(!monitor->isAttached());
    QVERIFY(!monitor->errorString().isEmpty());
    QCOMPARE(attached.count(), 0);
    QCOMPARE(monitor->eventModel()->rowCount(), 0);
    QCOMPARE(monitor->memoryModel()->rowCount(), 0);
    QVERIFY(SharedMemoryPool::pools().indexOf(name) < 0);
}

void tst_PoolMonitor::removedPoolClearsFigures()
{
    const QString name = uniquePoolName("tst-monitor-removed");
    m_pools.append(name);
    TrafficProcess traffic(name, {QStringLiteral("delta:10")});
    QVERIFY(traffic.waitUntilReady());

    auto monitor = createMonitor();
    monitor->setPoolName(name);
    monitor->start();
    QTRY_COMPARE_WITH_TIMEOUT(monitor->eventModel()->rowCount(), 1, FigureTimeoutMs);
    QVERIFY(monitor->isAttached());

    QString message;
    QVERIFY2(SharedMemoryPool::removePool(name, &message), qPrintable(message));
    QTRY_VERIFY_WITH_TIMEOUT(!monitor->isAttached(), FigureTimeoutMs);
    QCOMPARE(monitor->eventModel()->rowCount(), 0);
    QCOMPARE(monitor->memoryModel()->rowCount(), 0);
    QCOMPARE(monitor->poolName(), name);
    QVERIFY(!monitor->errorString().isEmpty());
}

void tst_PoolMonitor::intervalIsBounded()
{
    PoolMonitor monitor;
    QCOMPARE(monitor.interval(), PoolMonitor::DefaultIntervalMs);
    QSignalSpy changed(&monitor, &PoolMonitor::intervalChanged);
    QVERIFY(changed.isValid());

    monitor.setInterval(250);
    QCOMPARE(monitor.interval(), 250);
    monitor.setInterval(1);
    QCOMPARE(monitor.interval(), PoolMonitor::MinIntervalMs);
    monitor.setInterval(10'000'000);
    QCOMPARE(monitor.interval(), PoolMonitor::MaxIntervalMs);
    QCOMPARE(changed.count(), 3);
}

QTEST_GUILESS_MAIN(tst_PoolMonitor)
#include "tst_poolmonitor.moc"
