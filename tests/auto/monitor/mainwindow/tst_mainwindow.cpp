// SPDX-License-Identifier: MIT
// The dashboard window on the offscreen platform, against a pool with known traffic: the
// tables must show the published counts, and filtering and sorting must work on them.

#include "../trafficprocess.h"

#include <eventstatsmodel.h>
#include <format.h>
#include <handlerstatsmodel.h>
#include <mainwindow.h>
#include <poollistmodel.h>
#include <poolmonitor.h>
#include <processmodel.h>
#include <tablepanel.h>
#include <timeserieschart.h>

#include <QLineEdit>
#include <QListView>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTest>

using namespace mvent;
using namespace mvent::monitor;

namespace {

constexpr int FigureTimeoutMs = 30000;

// Returns the text the view of panel shows in column of the row whose first column is key,
// or an empty string if no visible row has that key.
QString shownText(const TablePanel *panel, const QString &key, int column)
{
    const QAbstractItemModel *model = panel->view()->model();
    for (int row = 0; row < model->rowCount(); ++row) {
        if (model->index(row, 0).data().toString() == key) {
            return model->index(row, column).data().toString();
        }
    }
    return {};
}

// Returns the text of the first visible handler row of event, or an empty string.
QString shownHandlerText(const TablePanel *panel, const QString &event, int column)
{
    const QAbstractItemModel *model = panel->view()->model();
    for (int row = 0; row < model->rowCount(); ++row) {
        if (model->index(row, 0).data().toString().startsWith(event + QLatin1Char('#'))) {
            return model->index(row, column).data().toString();
        }
    }
    return {};
}

} // namespace

class tst_MainWindow : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void tablesShowPublishedCounts();
    void filterAndSortEvents();
    void poolListSelectsPool();
    void removedPoolStaysSelected();

private:
    QString m_pool;
    std::unique_ptr<TrafficProcess> m_traffic;
    std::unique_ptr<PoolMonitor> m_monitor;
    std::unique_ptr<MainWindow> m_window;
};

void tst_MainWindow::init()
{
    m_pool = uniquePoolName("tst-window");
    m_traffic = std::make_unique<TrafficProcess>(
            m_pool, QStringList{QStringLiteral("orders:1200"), QStringLiteral("quotes:30"),
                                QStringLiteral("alerts:7:fail")});
    QVERIFY(m_traffic->waitUntilReady());

    m_monitor = std::make_unique<PoolMonitor>();
    m_monitor->setInterval(PoolMonitor::MinIntervalMs);
    m_monitor->setPoolName(m_pool);
    m_window = std::make_unique<MainWindow>(m_monitor.get());
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    m_monitor->start();
}

void tst_MainWindow::cleanup()
{
    m_window.reset();
    m_monitor.reset();
    m_traffic.reset();
    SharedMemoryPool::removePool(m_pool);
}

void tst_MainWindow::tablesShowPublishedCounts()
{
    const TablePanel *events = m_window->eventPanel();
    QTRY_COMPARE_WITH_TIMEOUT(shownText(events, QStringLiteral("orders"),
                                        EventStatsModel::PublishedColumn),
                              formatCount(1200), FigureTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(shownText(events, QStringLiteral("orders"),
                                        EventStatsModel::ReceivedColumn),
                              formatCount(1200), FigureTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(shownText(events, QStringLiteral("quotes"),
                                        EventStatsModel::PublishedColumn),
                              QStringLiteral("30"), FigureTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(shownText(events, QStringLiteral("alerts"),
                                        EventStatsModel::PublishedColumn),
                              QStringLiteral("7"), FigureTimeoutMs);
    QCOMPARE(shownText(events, QStringLiteral("orders"), EventStatsModel::SubscribersColumn),
             QStringLiteral("1"));

    const TablePanel *handlers = m_window->handlerPanel();
    QTRY_COMPARE_WITH_TIMEOUT(shownHandlerText(handlers, QStringLiteral("orders"),
                                               HandlerStatsModel::CallsColumn),
                              formatCount(1200), FigureTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(shownHandlerText(handlers, QStringLiteral("alerts"),
                                               HandlerStatsModel::ErrorsColumn),
                              QStringLiteral("7"), FigureTimeoutMs);
    QCOMPARE(shownHandlerText(handlers, QStringLiteral("orders"), HandlerStatsModel::ErrorsColumn),
             QStringLiteral("0"));

    const TablePanel *processes = m_window->processPanel();
    const QString pid = QString::number(m_traffic->pid());
    QTRY_COMPARE_WITH_TIMEOUT(shownText(processes, pid, ProcessModel::PublishedColumn),
                              formatCount(1237), FigureTimeoutMs);
    QCOMPARE(shownText(processes, pid, ProcessModel::ReceivedColumn), formatCount(1237));
    QCOMPARE(shownText(processes, pid, ProcessModel::AliveColumn), QStringLiteral("yes"));
    QCOMPARE(shownText(processes, pid, ProcessModel::MissedColumn), QStringLiteral("0"));

    QVERIFY(m_window->memoryPanel()->view()->model()->rowCount() > 0);
    m_window->flushCharts();
    QCOMPARE(m_window->memoryChart()->seriesCount(), 2);
}

void tst_MainWindow::filterAndSortEvents()
{
    const TablePanel *events = m_window->eventPanel();
    QTRY_COMPARE_WITH_TIMEOUT(events->view()->model()->rowCount(), 3, FigureTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(shownText(events, QStringLiteral("quotes"),
                                        EventStatsModel::PublishedColumn),
                              QStringLiteral("30"), FigureTimeoutMs);

    events->view()->sortByColumn(EventStatsModel::PublishedColumn, Qt::DescendingOrder);
    const QAbstractItemModel *visibleRows = events->view()->model();
    QCOMPARE(visibleRows->index(0, 0).data().toString(), QStringLiteral("orders"));
    QCOMPARE(visibleRows->index(1, 0).data().toString(), QStringLiteral("quotes"));
    QCOMPARE(visibleRows->index(2, 0).data().toString(), QStringLiteral("alerts"));

    events->filterEdit()->setText(QStringLiteral("QUO"));
    QCOMPARE(visibleRows->rowCount(), 1);
    QCOMPARE(visibleRows->index(0, 0).data().toString(), QStringLiteral("quotes"));

    // Refreshes go on while filtered, and the filter stays.
    const quint64 refreshes = m_monitor->refreshCount();
    QTRY_VERIFY_WITH_TIMEOUT(m_monitor->refreshCount() >= refreshes + 2, FigureTimeoutMs);
    QCOMPARE(visibleRows->rowCount(), 1);

    events->filterEdit()->clear();
    QCOMPARE(visibleRows->rowCount(), 3);
}

void tst_MainWindow::poolListSelectsPool()
{
    const QListView *pools = m_window->poolView();
    QTRY_VERIFY_WITH_TIMEOUT(pools->currentIndex().isValid(), FigureTimeoutMs);
    QCOMPARE(pools->currentIndex().data().toString(), m_pool);
    QVERIFY(m_window->windowTitle().contains(m_pool));
}

void tst_MainWindow::removedPoolStaysSelected()
{
    // Neighbours by name, so removing the traffic pool's row moves the current index to one.
    const QString before = QStringLiteral("tst-window-0-") + m_pool;
    const QString after = m_pool + QStringLiteral("-z");
    SharedMemoryPool beforePool(before);
    SharedMemoryPool afterPool(after);
    QVERIFY2(beforePool.isAttached(), qPrintable(beforePool.errorString()));
    QVERIFY2(afterPool.isAttached(), qPrintable(afterPool.errorString()));
    const PoolListModel *listed = m_monitor->poolListModel();
    QTRY_VERIFY_WITH_TIMEOUT(listed->contains(before), FigureTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(listed->contains(after), FigureTimeoutMs);
    const QListView *pools = m_window->poolView();
    QTRY_COMPARE_WITH_TIMEOUT(pools->currentIndex().data().toString(), m_pool, FigureTimeoutMs);

    QVERIFY(SharedMemoryPool::removePool(m_pool));
    QTRY_VERIFY_WITH_TIMEOUT(!listed->contains(m_pool), FigureTimeoutMs);
    QCOMPARE(m_monitor->poolName(), m_pool);
    QTRY_VERIFY_WITH_TIMEOUT(!m_monitor->isAttached(), FigureTimeoutMs);

    QVERIFY(beforePool.destroyPool());
    QVERIFY(afterPool.destroyPool());
}

QTEST_MAIN(tst_MainWindow)
#include "tst_mainwindow.moc"
