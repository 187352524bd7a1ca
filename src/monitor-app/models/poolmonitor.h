// SPDX-License-Identifier: MIT
#pragma once

#include <QObject>
#include <QTimer>

#include <memory>

class QFileSystemWatcher;

namespace mvent {
class MonitoringTools;
}

namespace mvent::monitor {

class EventStatsModel;
class HandlerStatsModel;
class MemoryStatsModel;
class PoolListModel;
class ProcessModel;
class SeriesHistory;

/*!
    Reads the figures of the user's pools on a timer and feeds the dashboard's models and
    chart histories.

    Every refresh lists the pools in SharedMemoryPool::runtimeDirectory() and, for the selected
    pool, reads memory, event, handler and process figures through a MonitoringTools object
    without a process slot. A QFileSystemWatcher on the runtime directory lists the pools
    again as soon as a pool file appears or goes. When the selected pool disappears, its
    figures are cleared but the name stays selected, so a pool created again under that name
    is followed without a click.

    The reads run on the thread of this object. They take no lock and make no system call
    beyond reading the clock, so they cost about as much as copying the figures; with 1,000
    events that stays far below the refresh interval.
*/
class PoolMonitor : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QString poolName READ poolName WRITE setPoolName NOTIFY poolNameChanged)
    Q_PROPERTY(int interval READ interval WRITE setInterval NOTIFY intervalChanged)
    Q_PROPERTY(int topCount READ topCount WRITE setTopCount NOTIFY topCountChanged)

public:
    static constexpr int DefaultIntervalMs = 1000;
    static constexpr int MinIntervalMs = 100;
    static constexpr int MaxIntervalMs = 60000;
    /*! Points each chart series keeps: five minutes at the default interval. */
    static constexpr int HistorySamples = 300;

    explicit PoolMonitor(QObject *parent = nullptr);
    ~PoolMonitor() override;

    /*! Starts the refresh timer and refreshes once right away. */
    void start();
    void stop();
    bool isRunning() const;

    /*! Returns the selected pool, or an empty string when none is selected. */
    QString poolName() const;
    /*!
        Selects the pool \a name, clears the tables and histories and refreshes. A name that
        is not listed yet stays selected, and its figures appear once the pool exists.
    */
    void setPoolName(const QString &name);
    /*! Returns true while the selected pool is open for reading. */
    bool isAttached() const;
    /*! Returns why the selected pool cannot be read, or an empty string. */
    QString errorString() const;

    int interval() const;
    /*! Sets the refresh interval in milliseconds, bounded to [MinIntervalMs, MaxIntervalMs]. */
    void setInterval(int milliseconds);

    int topCount() const;
    /*! Sets how many events and handlers the rate and latency charts follow (1 to 20). */
    void setTopCount(int count);

    /*! Returns how many refreshes ran since construction. */
    quint64 refreshCount() const;

    PoolListModel *poolListModel() const;
    MemoryStatsModel *memoryModel() const;
    EventStatsModel *eventModel() const;
    HandlerStatsModel *handlerModel() const;
    ProcessModel *processModel() const;
    /*! Used heap and fragmentation, in percent. */
    SeriesHistory *memoryHistory() const;
    /*! Published events per second over the last second, of the top events by 10 s rate. */
    SeriesHistory *eventRateHistory() const;
    /*! p99 handler duration in microseconds, of the top handlers by p99. */
    SeriesHistory *handlerLatencyHistory() const;

public Q_SLOTS:
    /*! Lists the pools and reads the selected pool's figures, then emits refreshed(). */
    void refresh();
    /*! Lists the pools without reading figures. */
    void refreshPools();

Q_SIGNALS:
    void poolNameChanged(const QString &name);
    void intervalChanged(int milliseconds);
    void topCountChanged(int count);
    void attachedChanged(bool attached);
    void refreshed();

private:
    void watchRuntimeDirectory();
    void openSelectedPool();
    void readSelectedPool();
    void clearFigures();
    void setAttached(bool attached);

    QString m_poolName;
    QString m_errorString;
    bool m_attached = false;
    bool m_poolListed = false;
    int m_topCount = 5;
    quint64 m_refreshCount = 0;
    QTimer m_timer;
    QFileSystemWatcher *m_watcher = nullptr;
    std::unique_ptr<MonitoringTools> m_tools;
    PoolListModel *m_poolListModel;
    MemoryStatsModel *m_memoryModel;
    EventStatsModel *m_eventModel;
    HandlerStatsModel *m_handlerModel;
    ProcessModel *m_processModel;
    SeriesHistory *m_memoryHistory;
    SeriesHistory *m_eventRateHistory;
    SeriesHistory *m_handlerLatencyHistory;
};

} // namespace mvent::monitor
