// SPDX-License-Identifier: MIT
#pragma once

#include <QMainWindow>

class QLabel;
class QListView;
class QSortFilterProxyModel;
class QSpinBox;
class QTabWidget;

namespace mvent::monitor {

class PoolMonitor;
class TablePanel;
class TimeSeriesChart;

/*!
    The dashboard window: the pools on the left, and for the selected pool tabs with memory,
    events, handlers and processes, each a table with a chart where one applies. The window
    only binds views to the models and histories of a PoolMonitor, which the caller owns.
*/
class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    static constexpr QSize DefaultSize = QSize(1200, 760);

    explicit MainWindow(PoolMonitor *monitor, QWidget *parent = nullptr);

    /*! Redraws every chart now instead of at its next throttled redraw, before grab(). */
    void flushCharts();

    QListView *poolView() const;
    QTabWidget *tabs() const;
    TablePanel *memoryPanel() const;
    TablePanel *eventPanel() const;
    TablePanel *handlerPanel() const;
    TablePanel *processPanel() const;
    TimeSeriesChart *memoryChart() const;
    TimeSeriesChart *eventRateChart() const;
    TimeSeriesChart *handlerLatencyChart() const;

private:
    QWidget *createPoolList();
    void createToolBar();
    QWidget *createDetails();
    void onPoolSelected();
    void onPoolNameChanged(const QString &name);
    void updateStatus();

    PoolMonitor *m_monitor;
    QListView *m_poolView = nullptr;
    QSortFilterProxyModel *m_poolProxy = nullptr;
    bool m_removingPoolRows = false;
    QLabel *m_statusLabel = nullptr;
    QSpinBox *m_intervalSpin = nullptr;
    QSpinBox *m_topSpin = nullptr;
    QTabWidget *m_tabs = nullptr;
    TablePanel *m_memoryPanel = nullptr;
    TablePanel *m_eventPanel = nullptr;
    TablePanel *m_handlerPanel = nullptr;
    TablePanel *m_processPanel = nullptr;
    TimeSeriesChart *m_memoryChart = nullptr;
    TimeSeriesChart *m_eventRateChart = nullptr;
    TimeSeriesChart *m_handlerLatencyChart = nullptr;
};

} // namespace mvent::monitor
