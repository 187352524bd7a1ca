// SPDX-License-Identifier: MIT
#include "mainwindow.h"

#include "eventstatsmodel.h"
#include "handlerstatsmodel.h"
#include "memorystatsmodel.h"
#include "poollistmodel.h"
#include "poolmonitor.h"
#include "processmodel.h"
#include "tablepanel.h"
#include "timeserieschart.h"

#include <sharedmemorypool.h>

#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QListView>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

namespace mvent::monitor {

namespace {

// Puts a table above a chart in a splitter that gives the table the larger share.
QWidget *tableAboveChart(QWidget *table, QWidget *chart)
{
    auto *splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(table);
    splitter->addWidget(chart);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setChildrenCollapsible(false);
    return splitter;
}

} // namespace

MainWindow::MainWindow(PoolMonitor *monitor, QWidget *parent)
    : QMainWindow(parent)
    , m_monitor(monitor)
{
    setWindowTitle(tr("mvent monitor"));
    resize(DefaultSize);

    createToolBar();

    auto *splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(createPoolList());
    splitter->addWidget(createDetails());
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({220, DefaultSize.width() - 220});
    setCentralWidget(splitter);

    m_statusLabel = new QLabel(this);
    statusBar()->addWidget(m_statusLabel, 1);

    connect(m_monitor, &PoolMonitor::poolNameChanged, this, &MainWindow::onPoolNameChanged);
    connect(m_monitor, &PoolMonitor::refreshed, this, &MainWindow::updateStatus);
    connect(m_monitor, &PoolMonitor::attachedChanged, this, &MainWindow::updateStatus);
    // A pool that appears after it was selected on the command line gets its row selected.
    connect(m_monitor->poolListModel(), &QAbstractItemModel::rowsInserted, this,
            [this] { onPoolNameChanged(m_monitor->poolName()); });

    onPoolNameChanged(m_monitor->poolName());
    updateStatus();
}

void MainWindow::flushCharts()
{
    for (TimeSeriesChart *chart : {m_memoryChart, m_eventRateChart, m_handlerLatencyChart}) {
        chart->flush();
    }
}

QListView *MainWindow::poolView() const
{
    return m_poolView;
}

QTabWidget *MainWindow::tabs() const
{
    return m_tabs;
}

TablePanel *MainWindow::memoryPanel() const
{
    return m_memoryPanel;
}

TablePanel *MainWindow::eventPanel() const
{
    return m_eventPanel;
}

TablePanel *MainWindow::handlerPanel() const
{
    return m_handlerPanel;
}

TablePanel *MainWindow::processPanel() const
{
    return m_processPanel;
}

TimeSeriesChart *MainWindow::memoryChart() const
{
    return m_memoryChart;
}

TimeSeriesChart *MainWindow::eventRateChart() const
{
    return m_eventRateChart;
}

TimeSeriesChart *MainWindow::handlerLatencyChart() const
{
    return m_handlerLatencyChart;
}

QWidget *MainWindow::createPoolList()
{
    m_poolProxy = new QSortFilterProxyModel(this);
    m_poolProxy->setSourceModel(m_monitor->poolListModel());
    m_poolProxy->setSortCaseSensitivity(Qt::CaseInsensitive);
    m_poolProxy->sort(0);

    // Removing the current row moves the current index to a neighbour. That is no choice of
    // the user's, so the monitor keeps following the removed pool's name. These connections
    // come before the view's, so the flag is set when the view moves the current index.
    connect(m_poolProxy, &QAbstractItemModel::rowsAboutToBeRemoved, this,
            [this] { m_removingPoolRows = true; });
    connect(m_poolProxy, &QAbstractItemModel::rowsRemoved, this,
            [this] { m_removingPoolRows = false; });

    m_poolView = new QListView;
    m_poolView->setModel(m_poolProxy);
    m_poolView->setSelectionMode(QAbstractItemView::SingleSelection);
    m_poolView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    connect(m_poolView->selectionModel(), &QItemSelectionModel::currentChanged, this,
            &MainWindow::onPoolSelected);

    auto *panel = new QWidget;
    auto *layout = new QVBoxLayout(panel);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *title = new QLabel(tr("Pools in %1").arg(SharedMemoryPool::runtimeDirectory()));
    title->setWordWrap(true);
    layout->addWidget(title);
    layout->addWidget(m_poolView);
    return panel;
}

void MainWindow::createToolBar()
{
    QToolBar *toolBar = addToolBar(tr("Refresh"));
    toolBar->setObjectName(QStringLiteral("refreshToolBar"));
    toolBar->setMovable(false);

    m_intervalSpin = new QSpinBox(toolBar);
    m_intervalSpin->setRange(PoolMonitor::MinIntervalMs, PoolMonitor::MaxIntervalMs);
    m_intervalSpin->setSingleStep(100);
    m_intervalSpin->setSuffix(tr(" ms"));
    m_intervalSpin->setValue(m_monitor->interval());
    m_intervalSpin->setToolTip(tr("Time between two reads of the pool's figures"));
    connect(m_intervalSpin, &QSpinBox::valueChanged, m_monitor, &PoolMonitor::setInterval);
    connect(m_monitor, &PoolMonitor::intervalChanged, m_intervalSpin, &QSpinBox::setValue);
    toolBar->addWidget(new QLabel(tr("Refresh every "), toolBar));
    toolBar->addWidget(m_intervalSpin);
    toolBar->addSeparator();

    m_topSpin = new QSpinBox(toolBar);
    m_topSpin->setRange(1, 20);
    m_topSpin->setValue(m_monitor->topCount());
    m_topSpin->setToolTip(tr("Number of events and handlers drawn in the charts"));
    connect(m_topSpin, &QSpinBox::valueChanged, m_monitor, &PoolMonitor::setTopCount);
    connect(m_monitor, &PoolMonitor::topCountChanged, m_topSpin, &QSpinBox::setValue);
    toolBar->addWidget(new QLabel(tr(" Chart the top "), toolBar));
    toolBar->addWidget(m_topSpin);
}

QWidget *MainWindow::createDetails()
{
    m_memoryPanel = new TablePanel(m_monitor->memoryModel(), tr("Filter figures"));
    m_memoryPanel->view()->setSortingEnabled(false);
    m_memoryPanel->proxy()->sort(-1);
    m_memoryChart = new TimeSeriesChart(tr("Heap"), tr("%"));
    m_memoryChart->setHistory(m_monitor->memoryHistory());

    m_eventPanel = new TablePanel(m_monitor->eventModel(), tr("Filter events by name"));
    m_eventRateChart = new TimeSeriesChart(tr("Events published per second (top events by 10 s rate)"),
                                           tr("events/s"));
    m_eventRateChart->setHistory(m_monitor->eventRateHistory());

    m_handlerPanel = new TablePanel(m_monitor->handlerModel(), tr("Filter handlers by name"));
    m_handlerLatencyChart = new TimeSeriesChart(tr("Handler duration p99 (slowest handlers)"),
                                                tr("µs"));
    m_handlerLatencyChart->setHistory(m_monitor->handlerLatencyHistory());

    m_processPanel = new TablePanel(m_monitor->processModel(), tr("Filter processes by PID or name"));
    m_processPanel->proxy()->setFilterKeyColumn(-1);

    m_tabs = new QTabWidget;
    m_tabs->addTab(tableAboveChart(m_memoryPanel, m_memoryChart), tr("Memory"));
    m_tabs->addTab(tableAboveChart(m_eventPanel, m_eventRateChart), tr("Events"));
    m_tabs->addTab(tableAboveChart(m_handlerPanel, m_handlerLatencyChart), tr("Handlers"));
    m_tabs->addTab(m_processPanel, tr("Processes"));
    return m_tabs;
}

void MainWindow::onPoolSelected()
{
    const QModelIndex current = m_poolView->currentIndex();
    if (current.isValid() && !m_removingPoolRows) {
        m_monitor->setPoolName(current.data().toString());
    }
}

void MainWindow::onPoolNameChanged(const QString &name)
{
    const int sourceRow = m_monitor->poolListModel()->rowOf(name);
    if (sourceRow < 0) {
        return;
    }
    const QModelIndex index =
            m_poolProxy->mapFromSource(m_monitor->poolListModel()->index(sourceRow, 0));
    if (index != m_poolView->currentIndex()) {
        m_poolView->setCurrentIndex(index);
    }
    updateStatus();
}

void MainWindow::updateStatus()
{
    const QString name = m_monitor->poolName();
    QString text;
    if (name.isEmpty()) {
        text = tr("Select a pool on the left.");
    } else if (m_monitor->isAttached()) {
        text = tr("Pool %1: %2 events, %3 handlers, %4 processes")
                       .arg(name)
                       .arg(m_monitor->eventModel()->rowCount())
                       .arg(m_monitor->handlerModel()->rowCount())
                       .arg(m_monitor->processModel()->rowCount());
    } else {
        text = tr("Pool %1: %2").arg(name, m_monitor->errorString());
    }
    m_statusLabel->setText(text);
    setWindowTitle(name.isEmpty() ? tr("mvent monitor") : tr("%1 – mvent monitor").arg(name));
}

} // namespace mvent::monitor
