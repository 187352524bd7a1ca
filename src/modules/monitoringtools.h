// SPDX-License-Identifier: MIT
#pragma once

#include "mvent_modules_export.h"

#include <sharedmemorypool.h>

#include <QList>
#include <QObject>
#include <QVariantMap>

#include <functional>
#include <memory>

namespace mvent {

class MonitoringToolsPrivate;

/*! Latency figures of a histogram, in nanoseconds; percentiles are upper bucket bounds. */
struct MVENT_MODULES_EXPORT LatencySummary
{
    quint64 count = 0;
    qint64 p50Ns = 0;
    qint64 p95Ns = 0;
    qint64 p99Ns = 0;
    qint64 maxNs = 0;
    qint64 meanNs = 0;
};

/*! One attached or recently exited process of a pool, with its own counters. */
struct MVENT_MODULES_EXPORT ProcessInfo
{
    qint64 pid = 0;
    QString name;              // executable name
    bool alive = false;        // false once the process exited; kept until the slot is reused
    qint64 attachedMs = 0;     // wall clock, milliseconds since the epoch
    qint64 heartbeatMs = 0;
    bool hasStats = false;     // false if the pool had no heap room for the stats block
    quint64 published = 0;     // events
    quint64 received = 0;      // events delivered to this process
    quint64 bytesOut = 0;      // encoded value bytes published
    quint64 bytesIn = 0;       // encoded value bytes received
    quint64 handlerCalls = 0;
    quint64 handlerErrors = 0;
    quint64 missed = 0;        // log records lost because the log overtook the process
    quint64 lag = 0;           // records appended but not yet read, at the last delivery
};

/*! Figures of one event name, summed over every process of the pool. */
struct MVENT_MODULES_EXPORT EventInfoStats
{
    QString name;
    quint64 published = 0;
    quint64 received = 0;      // deliveries, summed over subscribers
    quint64 bytes = 0;         // encoded value bytes published
    double rate1s = 0;         // published per second over the last 1, 10 and 60 seconds
    double rate10s = 0;
    double rate60s = 0;
    int subscribers = 0;       // processes that received this event
    LatencySummary latency;    // publish to delivery, over all receivers
};

/*! Figures of one handler, summed over every process that registered it under that name. */
struct MVENT_MODULES_EXPORT HandlerStats
{
    QString name;              // "<event>#<id>" for MemoryEventHandler handlers, or the name given
    quint64 calls = 0;
    quint64 errors = 0;
    LatencySummary duration;   // time spent in the handler
};

/*!
    Reads and records live figures of a pool. Every process records into its own stats block
    in the segment, with relaxed atomic increments and no lock or system call beyond reading
    the monotonic clock, so reading the figures never disturbs the writers. Any process can read
    the blocks of all processes of the pool, including those that exited since, until their slot
    is reused.

    EventManager and MemoryEventHandler record events and handler calls without being asked;
    wrapHandler() and recordEvent() add figures of the caller's own.
*/
class MVENT_MODULES_EXPORT MonitoringTools : public QObject
{
    Q_OBJECT

public:
    /*! Treatment of a wrapped handler's exception after it was counted. */
    enum ExceptionPolicy { Rethrow, Report };
    Q_ENUM(ExceptionPolicy)

    /*! Opens pool \a poolName without a process slot (AttachOnly); see isAttached(). */
    explicit MonitoringTools(const QString &poolName, QObject *parent = nullptr);
    ~MonitoringTools() override;

    bool isAttached() const;
    QString poolName() const;

    /*!
        Returns a callable that runs \a callable and records its duration and errors under
        \a name in this process's stats block. With Report, an exception is counted, logged and
        reported by handlerFailed(); with Rethrow it is counted and thrown on.
    */
    std::function<void(const QVariant &)> wrapHandler(const QString &name,
                                                      std::function<void(const QVariant &)> callable,
                                                      ExceptionPolicy policy = Report);
    /*! Counts one publication of \a name with \a bytes of payload in this process's block. */
    void recordEvent(const QString &name, quint64 bytes = 0);

    PoolStats memoryStats() const;
    QList<ProcessInfo> processes() const;
    QList<EventInfoStats> eventStats() const;
    QList<HandlerStats> handlerStats() const;

    /*! Returns all figures as nested maps and lists, for QML and JSON. */
    QVariantMap toVariantMap() const;

    SharedMemoryPool::Error error() const;
    QString errorString() const;

Q_SIGNALS:
    /*! A handler wrapped with Report threw; \a message is its what(). */
    void handlerFailed(const QString &name, const QString &message);

private:
    std::unique_ptr<MonitoringToolsPrivate> const d;
    Q_DISABLE_COPY_MOVE(MonitoringTools)
};

} // namespace mvent
