// SPDX-License-Identifier: MIT
#include "monitoringtools.h"

#include "clock_p.h"
#include "errorstate_p.h"
#include "pool_p.h"
#include "statsblock_p.h"

#include <QHash>
#include <QLoggingCategory>
#include <QMap>
#include <QMutex>
#include <QPointer>

#include <array>
#include <exception>

namespace mvent {

using namespace layout;

namespace {

Q_LOGGING_CATEGORY(lcMonitor, "mvent.monitor", QtInfoMsg)

using Histogram = std::array<quint64, StatsHistogramBuckets>;

LatencySummary summarise(const Histogram &histogram, quint64 totalNs, quint64 maxNs)
{
    LatencySummary summary;
    for (const quint64 count : histogram) {
        summary.count += count;
    }
    if (summary.count == 0) {
        return summary;
    }
    auto percentile = [&](double fraction) {
        const quint64 rank = quint64(fraction * double(summary.count - 1)) + 1;
        quint64 cumulative = 0;
        for (int i = 0; i < StatsHistogramBuckets; ++i) {
            cumulative += histogram[size_t(i)];
            if (cumulative >= rank) {
                return qMin(StatsWriter::bucketUpperBound(i), qint64(maxNs));
            }
        }
        return qint64(maxNs);
    };
    summary.p50Ns = percentile(0.50);
    summary.p95Ns = percentile(0.95);
    summary.p99Ns = percentile(0.99);
    summary.maxNs = qint64(maxNs);
    summary.meanNs = qint64(totalNs / summary.count);
    return summary;
}

// Durations of several records with one name, merged.
struct DurationSum
{
    Histogram histogram{};
    quint64 totalNs = 0;
    quint64 maxNs = 0;

    void add(const StatsRecord &record)
    {
        for (int i = 0; i < StatsHistogramBuckets; ++i) {
            histogram[size_t(i)] += record.histogram[i].load(std::memory_order_relaxed);
        }
        totalNs += record.totalNs.load(std::memory_order_relaxed);
        maxNs = qMax(maxNs, record.maxNs.load(std::memory_order_relaxed));
    }
    LatencySummary summary() const { return summarise(histogram, totalNs, maxNs); }
};

// Events per second over the last `seconds` complete seconds, from the per-second buckets.
double rate(const StatsRecord &record, int seconds, quint64 nowSecond)
{
    const quint64 last = record.lastSecond.load(std::memory_order_relaxed);
    quint64 sum = 0;
    for (int i = 1; i <= seconds; ++i) {
        const quint64 second = nowSecond - quint64(i);
        if (second > last || last - second >= quint64(StatsRateSeconds)) {
            continue; // not written yet, or written so long ago that the bucket was reused
        }
        sum += record.perSecond[second % StatsRateSeconds].load(std::memory_order_relaxed);
    }
    return double(sum) / seconds;
}

QVariantMap latencyMap(const LatencySummary &latency)
{
    return {{QStringLiteral("count"), latency.count},
            {QStringLiteral("p50Ns"), latency.p50Ns},
            {QStringLiteral("p95Ns"), latency.p95Ns},
            {QStringLiteral("p99Ns"), latency.p99Ns},
            {QStringLiteral("maxNs"), latency.maxNs},
            {QStringLiteral("meanNs"), latency.meanNs}};
}

} // namespace

class MonitoringToolsPrivate
{
public:
    // Calls fn(slotIndex, slot, block, records) for every slot that is active or exited;
    // block is null when the slot has no valid stats block.
    template<typename Function>
    void forEachSlot(Function fn) const
    {
        if (!reader) {
            return;
        }
        ProcessTable *table = reader->processes();
        for (quint32 i = 0; i < table->size(); ++i) {
            const ProcessSlot *slot = table->slot(i);
            if (slot->state.load(std::memory_order_acquire) == SlotFree) {
                continue;
            }
            quint32 records = 0;
            const StatsBlockHeader *block = reader->statsBlock(i, &records);
            fn(i, slot, block, records);
        }
    }

    // Calls fn(kind, name, record) for every readable record of every slot's stats block.
    template<typename Function>
    void forEachRecord(Function fn) const
    {
        forEachSlot([&](quint32, const ProcessSlot *, const StatsBlockHeader *block, quint32 records) {
            for (quint32 r = 0; block && r < records; ++r) {
                const StatsRecord &record = recordAt(block, r);
                const quint32 kind = record.kind.load(std::memory_order_acquire);
                const quint32 length = qMin<quint32>(record.nameLength, sizeof record.name);
                fn(kind, QString::fromUtf8(record.name, length), record);
            }
        });
    }

    static const StatsRecord &recordAt(const StatsBlockHeader *block, quint32 index)
    {
        return *reinterpret_cast<const StatsRecord *>(reinterpret_cast<const uchar *>(block + 1)
                                                      + quint64(index) * sizeof(StatsRecord));
    }

    StatsWriter *writer();

    QString poolName;
    std::unique_ptr<Pool> reader;   // no slot: reading never shows up as a process
    std::unique_ptr<Pool> recorder; // opened with a slot on the first wrapHandler()/recordEvent()
    QMutex recorderMutex;
    ErrorState errors;
};

StatsWriter *MonitoringToolsPrivate::writer()
{
    QMutexLocker locker(&recorderMutex);
    if (!recorder) {
        SharedMemoryPool::Options options;
        options.openMode = SharedMemoryPool::AttachOnly;
        auto pool = std::make_unique<Pool>(poolName, options);
        PoolError failure;
        // An empty doorbell name claims a slot that no writer rings, because this object only
    // records.
        if (!pool->open(QByteArray(""), &failure)) {
            errors.fail(failure);
            return nullptr;
        }
        recorder = std::move(pool);
    }
    return recorder->statsWriter();
}

MonitoringTools::MonitoringTools(const QString &poolName, QObject *parent)
    : QObject(parent)
    , d(std::make_unique<MonitoringToolsPrivate>())
{
    d->poolName = poolName;
    SharedMemoryPool::Options options;
    options.openMode = SharedMemoryPool::AttachOnly;
    options.useProcessSlot = false;
    auto pool = std::make_unique<Pool>(poolName, options);
    PoolError failure;
    if (!pool->open(QByteArray(), &failure)) {
        d->errors.fail(failure);
        return;
    }
    d->reader = std::move(pool);
}

MonitoringTools::~MonitoringTools() = default;

bool MonitoringTools::isAttached() const
{
    return d->reader != nullptr;
}

QString MonitoringTools::poolName() const
{
    return d->poolName;
}

std::function<void(const QVariant &)> MonitoringTools::wrapHandler(
        const QString &name, std::function<void(const QVariant &)> callable, ExceptionPolicy policy)
{
    StatsWriter *writer = d->writer();
    StatsRecord *record = writer ? writer->record(StatsHandler, name.toUtf8()) : nullptr;
    StatsBlockHeader *block = writer ? writer->block() : nullptr;
    QPointer<MonitoringTools> self(this);
    return [record, block, callable = std::move(callable), policy, name, self](const QVariant &value) {
        const qint64 started = monotonicNs();
        auto finish = [&](bool failed) {
            const qint64 finished = monotonicNs();
            StatsWriter::count(record, 0, finished);
            StatsWriter::addDuration(record, finished - started);
            if (record && failed) {
                record->errors.fetch_add(1, std::memory_order_relaxed);
            }
            if (block) {
                block->handlerCalls.fetch_add(1, std::memory_order_relaxed);
                if (failed) {
                    block->handlerErrors.fetch_add(1, std::memory_order_relaxed);
                }
            }
        };
        try {
            callable(value);
        } catch (const std::exception &exception) {
            finish(true);
            if (policy == Rethrow) {
                throw;
            }
            qCWarning(lcMonitor, "handler %s threw: %s", qPrintable(name), exception.what());
            if (self) {
                Q_EMIT self->handlerFailed(name, QString::fromLocal8Bit(exception.what()));
            }
            return;
        } catch (...) {
            finish(true);
            if (policy == Rethrow) {
                throw;
            }
            qCWarning(lcMonitor, "handler %s threw an exception of unknown type", qPrintable(name));
            if (self) {
                Q_EMIT self->handlerFailed(name, QStringLiteral("exception of unknown type"));
            }
            return;
        }
        finish(false);
    };
}

void MonitoringTools::recordEvent(const QString &name, quint64 bytes)
{
    StatsWriter *writer = d->writer();
    if (!writer || !writer->block()) {
        return;
    }
    StatsWriter::count(writer->record(StatsEventPublished, name.toUtf8()), bytes, monotonicNs());
    writer->block()->published.fetch_add(1, std::memory_order_relaxed);
    writer->block()->bytesOut.fetch_add(bytes, std::memory_order_relaxed);
}

PoolStats MonitoringTools::memoryStats() const
{
    return d->reader ? d->reader->stats() : PoolStats();
}

QList<ProcessInfo> MonitoringTools::processes() const
{
    QList<ProcessInfo> result;
    d->forEachSlot([&](quint32, const ProcessSlot *slot, const StatsBlockHeader *block, quint32) {
        ProcessInfo info;
        info.pid = slot->pid;
        info.name = QString::fromUtf8(slot->processName, qstrnlen(slot->processName, sizeof slot->processName));
        info.alive = slot->state.load(std::memory_order_relaxed) == SlotActive
                && isProcessAlive(slot->pid, slot->startTime);
        info.attachedMs = slot->attachedMs;
        info.heartbeatMs = slot->heartbeatMs.load(std::memory_order_relaxed);
        if (block) {
            info.hasStats = true;
            info.published = block->published.load(std::memory_order_relaxed);
            info.received = block->received.load(std::memory_order_relaxed);
            info.bytesOut = block->bytesOut.load(std::memory_order_relaxed);
            info.bytesIn = block->bytesIn.load(std::memory_order_relaxed);
            info.handlerCalls = block->handlerCalls.load(std::memory_order_relaxed);
            info.handlerErrors = block->handlerErrors.load(std::memory_order_relaxed);
            info.missed = block->missed.load(std::memory_order_relaxed);
            info.lag = block->lag.load(std::memory_order_relaxed);
        }
        result.append(info);
    });
    return result;
}

QList<EventInfoStats> MonitoringTools::eventStats() const
{
    struct Sum
    {
        EventInfoStats stats;
        DurationSum latency;
    };
    QMap<QString, Sum> sums; // sorted by name
    const quint64 nowSecond = quint64(monotonicNs() / 1000000000);
    d->forEachRecord([&](quint32 kind, const QString &name, const StatsRecord &record) {
        if (kind != StatsEventPublished && kind != StatsEventReceived) {
            return;
        }
        Sum &sum = sums[name];
        sum.stats.name = name;
        const quint64 count = record.count.load(std::memory_order_relaxed);
        if (kind == StatsEventPublished) {
            sum.stats.published += count;
            sum.stats.bytes += record.bytes.load(std::memory_order_relaxed);
            sum.stats.rate1s += rate(record, 1, nowSecond);
            sum.stats.rate10s += rate(record, 10, nowSecond);
            sum.stats.rate60s += rate(record, 60, nowSecond);
        } else {
            sum.stats.received += count;
            sum.stats.subscribers += count > 0 ? 1 : 0;
            sum.latency.add(record);
        }
    });
    QList<EventInfoStats> result;
    for (Sum &sum : sums) {
        sum.stats.latency = sum.latency.summary();
        result.append(sum.stats);
    }
    return result;
}

QList<HandlerStats> MonitoringTools::handlerStats() const
{
    struct Sum
    {
        HandlerStats stats;
        DurationSum duration;
    };
    QMap<QString, Sum> sums;
    d->forEachRecord([&](quint32 kind, const QString &name, const StatsRecord &record) {
        if (kind != StatsHandler) {
            return;
        }
        Sum &sum = sums[name];
        sum.stats.name = name;
        sum.stats.calls += record.count.load(std::memory_order_relaxed);
        sum.stats.errors += record.errors.load(std::memory_order_relaxed);
        sum.duration.add(record);
    });
    QList<HandlerStats> result;
    for (Sum &sum : sums) {
        sum.stats.duration = sum.duration.summary();
        result.append(sum.stats);
    }
    return result;
}

QVariantMap MonitoringTools::toVariantMap() const
{
    QVariantList processList;
    for (const ProcessInfo &p : processes()) {
        processList.append(QVariantMap{{QStringLiteral("pid"), p.pid},
                                       {QStringLiteral("name"), p.name},
                                       {QStringLiteral("alive"), p.alive},
                                       {QStringLiteral("attachedMs"), p.attachedMs},
                                       {QStringLiteral("heartbeatMs"), p.heartbeatMs},
                                       {QStringLiteral("hasStats"), p.hasStats},
                                       {QStringLiteral("published"), p.published},
                                       {QStringLiteral("received"), p.received},
                                       {QStringLiteral("bytesOut"), p.bytesOut},
                                       {QStringLiteral("bytesIn"), p.bytesIn},
                                       {QStringLiteral("handlerCalls"), p.handlerCalls},
                                       {QStringLiteral("handlerErrors"), p.handlerErrors},
                                       {QStringLiteral("missed"), p.missed},
                                       {QStringLiteral("lag"), p.lag}});
    }
    QVariantList eventList;
    for (const EventInfoStats &e : eventStats()) {
        eventList.append(QVariantMap{{QStringLiteral("name"), e.name},
                                     {QStringLiteral("published"), e.published},
                                     {QStringLiteral("received"), e.received},
                                     {QStringLiteral("bytes"), e.bytes},
                                     {QStringLiteral("rate1s"), e.rate1s},
                                     {QStringLiteral("rate10s"), e.rate10s},
                                     {QStringLiteral("rate60s"), e.rate60s},
                                     {QStringLiteral("subscribers"), e.subscribers},
                                     {QStringLiteral("latency"), latencyMap(e.latency)}});
    }
    QVariantList handlerList;
    for (const HandlerStats &h : handlerStats()) {
        handlerList.append(QVariantMap{{QStringLiteral("name"), h.name},
                                       {QStringLiteral("calls"), h.calls},
                                       {QStringLiteral("errors"), h.errors},
                                       {QStringLiteral("duration"), latencyMap(h.duration)}});
    }
    return {{QStringLiteral("memory"), memoryStats().toVariantMap()},
            {QStringLiteral("processes"), processList},
            {QStringLiteral("events"), eventList},
            {QStringLiteral("handlers"), handlerList}};
}

SharedMemoryPool::Error MonitoringTools::error() const
{
    return d->errors.error();
}

QString MonitoringTools::errorString() const
{
    return d->errors.errorString();
}

} // namespace mvent
