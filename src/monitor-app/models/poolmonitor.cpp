// SPDX-License-Identifier: MIT
#include "poolmonitor.h"

#include "eventstatsmodel.h"
#include "handlerstatsmodel.h"
#include "logging.h"
#include "memorystatsmodel.h"
#include "poollistmodel.h"
#include "processmodel.h"
#include "serieshistory.h"

#include <monitoringtools.h>
#include <sharedmemorypool.h>

#include <QDateTime>
#include <QDir>
#include <QFileSystemWatcher>

#include <algorithm>

namespace mvent::monitor {

namespace {

constexpr int MaxTopCount = 20;

// Returns the first count elements of items by descending rank, skipping those rank
// does not consider active.
template<typename Item, typename Rank, typename Active>
QList<Item> topItems(QList<Item> items, int count, Rank rank, Active active)
{
    items.removeIf([&](const Item &item) { return !active(item); });
    const auto middle = items.begin() + std::min<qsizetype>(count, items.size());
    std::partial_sort(items.begin(), middle, items.end(),
                      [&](const Item &a, const Item &b) { return rank(a) > rank(b); });
    items.erase(middle, items.end());
    return items;
}

} // namespace

PoolMonitor::PoolMonitor(QObject *parent)
    : QObject(parent)
    , m_watcher(new QFileSystemWatcher(this))
    , m_poolListModel(new PoolListModel(this))
    , m_memoryModel(new MemoryStatsModel(this))
    , m_eventModel(new EventStatsModel(this))
    , m_handlerModel(new HandlerStatsModel(this))
    , m_processModel(new ProcessModel(this))
    , m_memoryHistory(new SeriesHistory(HistorySamples, this))
    , m_eventRateHistory(new SeriesHistory(HistorySamples, this))
    , m_handlerLatencyHistory(new SeriesHistory(HistorySamples, this))
{
    m_timer.setInterval(DefaultIntervalMs);
    connect(&m_timer, &QTimer::timeout, this, &PoolMonitor::refresh);
    connect(m_watcher, &QFileSystemWatcher::directoryChanged, this, &PoolMonitor::refreshPools);
}

PoolMonitor::~PoolMonitor() = default;

void PoolMonitor::start()
{
    qCInfo(lcDashboard) << "watching pools in" << SharedMemoryPool::runtimeDirectory()
                        << "every" << m_timer.interval() << "ms";
    m_timer.start();
    refresh();
}

void PoolMonitor::stop()
{
    m_timer.stop();
}

bool PoolMonitor::isRunning() const
{
    return m_timer.isActive();
}

QString PoolMonitor::poolName() const
{
    return m_poolName;
}

void PoolMonitor::setPoolName(const QString &name)
{
    if (name == m_poolName) {
        return;
    }

    m_poolName = name;
    m_tools.reset();
    m_errorString.clear();
    m_poolListed = false;
    setAttached(false);
    clearFigures();
    Q_EMIT poolNameChanged(name);

    if (isRunning()) {
        refresh();
    }
}

bool PoolMonitor::isAttached() const
{
    return m_attached;
}

QString PoolMonitor::errorString() const
{
    return m_errorString;
}

int PoolMonitor::interval() const
{
    return m_timer.interval();
}

void PoolMonitor::setInterval(int milliseconds)
{
    const int bounded = std::clamp(milliseconds, MinIntervalMs, MaxIntervalMs);
    if (bounded == m_timer.interval()) {
        return;
    }
    m_timer.setInterval(bounded);
    Q_EMIT intervalChanged(bounded);
}

int PoolMonitor::topCount() const
{
    return m_topCount;
}

void PoolMonitor::setTopCount(int count)
{
    const int bounded = std::clamp(count, 1, MaxTopCount);
    if (bounded == m_topCount) {
        return;
    }
    m_topCount = bounded;
    Q_EMIT topCountChanged(bounded);
}

quint64 PoolMonitor::refreshCount() const
{
    return m_refreshCount;
}

PoolListModel *PoolMonitor::poolListModel() const
{
    return m_poolListModel;
}

MemoryStatsModel *PoolMonitor::memoryModel() const
{
    return m_memoryModel;
}

EventStatsModel *PoolMonitor::eventModel() const
{
    return m_eventModel;
}

HandlerStatsModel *PoolMonitor::handlerModel() const
{
    return m_handlerModel;
}

ProcessModel *PoolMonitor::processModel() const
{
    return m_processModel;
}

SeriesHistory *PoolMonitor::memoryHistory() const
{
    return m_memoryHistory;
}

SeriesHistory *PoolMonitor::eventRateHistory() const
{
    return m_eventRateHistory;
}

SeriesHistory *PoolMonitor::handlerLatencyHistory() const
{
    return m_handlerLatencyHistory;
}

void PoolMonitor::refresh()
{
    refreshPools();

    if (!m_poolName.isEmpty()) {
        if (!m_tools) {
            openSelectedPool();
        }
        if (m_tools) {
            readSelectedPool();
        }
    }

    ++m_refreshCount;
    Q_EMIT refreshed();
}

void PoolMonitor::refreshPools()
{
    watchRuntimeDirectory();

    QStringList names = SharedMemoryPool::pools();
    names.sort();
    m_poolListModel->setRows(names);

    // A pool backed by QSharedMemory is never listed, so only a listed pool that leaves the
    // list counts as removed.
    const bool listed = names.contains(m_poolName);
    if (m_poolListed && !listed && m_tools) {
        qCInfo(lcDashboard) << "pool" << m_poolName << "was removed";
        m_tools.reset();
        m_errorString = tr("Pool '%1' was removed. Its figures return if it is created again.")
                                .arg(m_poolName);
        setAttached(false);
        clearFigures();
    }
    m_poolListed = listed;
}

void PoolMonitor::watchRuntimeDirectory()
{
    // The directory may not exist until the first pool is created, so try again each refresh.
    const QString directory = SharedMemoryPool::runtimeDirectory();
    if (m_watcher->directories().contains(directory) || !QDir(directory).exists()) {
        return;
    }
    if (!m_watcher->addPath(directory)) {
        qCDebug(lcDashboard) << "cannot watch" << directory << "so new pools appear on the next refresh";
    }
}

void PoolMonitor::openSelectedPool()
{
    auto tools = std::make_unique<MonitoringTools>(m_poolName);
    if (!tools->isAttached()) {
        const QString message = tools->errorString();
        // The same failure repeats on every refresh while the pool is missing, so log changes only.
        if (message != m_errorString) {
            qCInfo(lcDashboard) << "cannot open pool" << m_poolName << ":" << message;
        }
        m_errorString = message;
        return;
    }

    qCInfo(lcDashboard) << "reading pool" << m_poolName;
    m_tools = std::move(tools);
    m_errorString.clear();
    setAttached(true);
}

void PoolMonitor::readSelectedPool()
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const PoolStats memory = m_tools->memoryStats();
    const QList<EventInfoStats> events = m_tools->eventStats();
    const QList<HandlerStats> handlers = m_tools->handlerStats();
    const QList<ProcessInfo> processes = m_tools->processes();

    if (!m_tools->isAttached()) {
        m_errorString = m_tools->errorString();
        qCInfo(lcDashboard) << "lost pool" << m_poolName << ":" << m_errorString;
        m_tools.reset();
        setAttached(false);
        clearFigures();
        return;
    }

    m_memoryModel->setStats(memory);
    m_eventModel->setRows(events);
    m_handlerModel->setRows(handlers);
    m_processModel->setRows(processes);

    const double usedPercent = memory.heapSize > 0
            ? 100.0 * double(memory.usedBytes) / double(memory.heapSize)
            : 0.0;
    m_memoryHistory->append(now, {{tr("Used %"), usedPercent},
                                  {tr("Fragmentation %"), 100.0 * fragmentation(memory)}});

    QList<SeriesHistory::Value> rates;
    const QList<EventInfoStats> topEvents = topItems(
            events, m_topCount, [](const EventInfoStats &e) { return e.rate10s; },
            [](const EventInfoStats &e) { return e.rate60s > 0; });
    for (const EventInfoStats &event : topEvents) {
        rates.append({event.name, event.rate1s});
    }
    m_eventRateHistory->append(now, rates);

    QList<SeriesHistory::Value> latencies;
    const QList<HandlerStats> topHandlers = topItems(
            handlers, m_topCount, [](const HandlerStats &h) { return h.duration.p99Ns; },
            [](const HandlerStats &h) { return h.duration.count > 0; });
    for (const HandlerStats &handler : topHandlers) {
        latencies.append({handler.name, double(handler.duration.p99Ns) / 1e3});
    }
    m_handlerLatencyHistory->append(now, latencies);
}

void PoolMonitor::clearFigures()
{
    m_memoryModel->setStats(PoolStats());
    m_eventModel->setRows({});
    m_handlerModel->setRows({});
    m_processModel->setRows({});
    m_memoryHistory->clear();
    m_eventRateHistory->clear();
    m_handlerLatencyHistory->clear();
}

void PoolMonitor::setAttached(bool attached)
{
    if (attached == m_attached) {
        return;
    }
    m_attached = attached;
    Q_EMIT attachedChanged(attached);
}

} // namespace mvent::monitor
