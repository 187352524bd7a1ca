// SPDX-License-Identifier: MIT
#include "prometheusexport.h"

#include <monitoringtools.h>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

namespace mvent::cli {

namespace {

using prometheus::ClientMetric;
using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Labels;
using prometheus::MetricFamily;

constexpr double NanosecondsPerSecond = 1e9;

Family<Gauge> &gaugeFamily(prometheus::Registry &registry, const char *name, const char *help)
{
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

Family<Counter> &counterFamily(prometheus::Registry &registry, const char *name, const char *help)
{
    return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

void setGauge(Family<Gauge> &family, const Labels &labels, double value)
{
    family.Add(labels).Set(value);
}

void setCounter(Family<Counter> &family, const Labels &labels, double value)
{
    // A new counter starts at 0, so one increment sets it to the value read from the pool.
    family.Add(labels).Increment(value);
}

MetricFamily summaryFamily(const char *name, const char *help)
{
    MetricFamily family;
    family.name = name;
    family.help = help;
    family.type = prometheus::MetricType::Summary;
    return family;
}

std::vector<ClientMetric::Label> clientLabels(const Labels &labels)
{
    std::vector<ClientMetric::Label> result;
    for (const auto &[name, value] : labels) {
        result.push_back({ name, value });
    }
    return result;
}

void addSummary(MetricFamily *family, const Labels &labels, const LatencySummary &latency)
{
    ClientMetric metric;
    metric.label = clientLabels(labels);
    metric.summary.sample_count = latency.count;
    // NOTE: the pool stores the mean rounded down to whole nanoseconds, so this sum can be
    // below the true sum by up to one nanosecond per sample.
    metric.summary.sample_sum =
            double(latency.meanNs) * double(latency.count) / NanosecondsPerSecond;
    metric.summary.quantile = {
        { 0.5, double(latency.p50Ns) / NanosecondsPerSecond },
        { 0.95, double(latency.p95Ns) / NanosecondsPerSecond },
        { 0.99, double(latency.p99Ns) / NanosecondsPerSecond },
    };
    family->metric.push_back(std::move(metric));
}

std::string text(const QString &value)
{
    return value.toStdString();
}

} // namespace

// The families live in one registry, so that several pools share each family with their own
// "pool" label. Summaries are built by hand because prometheus::Summary computes quantiles
// from observations, and the pool provides the quantiles instead.
class PoolMetricFamilies
{
public:
    PoolMetricFamilies();

    void addMemory(const Labels &pool, const PoolStats &stats);
    void addProcesses(const Labels &pool, const QList<ProcessInfo> &processes);
    void addEvents(const Labels &pool, const QList<EventInfoStats> &events);
    void addHandlers(const Labels &pool, const QList<HandlerStats> &handlers);

    prometheus::Registry registry;
    MetricFamily eventLatency =
            summaryFamily("mvent_event_latency_seconds",
                          "Time from publication to delivery of an event, over all receivers. "
                          "Quantiles are upper bounds of histogram buckets.");
    MetricFamily handlerDuration = summaryFamily(
            "mvent_handler_duration_seconds",
            "Time spent in one call of a handler. Quantiles are upper bounds of histogram "
            "buckets.");

    Family<Gauge> &poolUp;
    Family<Gauge> &poolSize;
    Family<Gauge> &poolHeapSize;
    Family<Gauge> &poolUsed;
    Family<Gauge> &poolFree;
    Family<Gauge> &poolLargestFreeBlock;
    Family<Gauge> &poolStatsBytes;
    Family<Gauge> &poolEntries;
    Family<Gauge> &poolMaxEntries;
    Family<Gauge> &poolAttachedProcesses;
    Family<Gauge> &poolMaxAttachments;
    Family<Gauge> &poolEventLogSize;
    Family<Counter> &poolEventLogRecords;
    Family<Counter> &poolRecoveries;
    Family<Gauge> &poolCreated;

    Family<Gauge> &processAlive;
    Family<Gauge> &processAttached;
    Family<Gauge> &processHeartbeat;
    Family<Counter> &processPublished;
    Family<Counter> &processReceived;
    Family<Counter> &processSentBytes;
    Family<Counter> &processReceivedBytes;
    Family<Counter> &processHandlerCalls;
    Family<Counter> &processHandlerErrors;
    Family<Counter> &processMissed;
    Family<Gauge> &processLag;

    Family<Counter> &eventsPublished;
    Family<Counter> &eventsReceived;
    Family<Counter> &eventsPublishedBytes;
    Family<Gauge> &eventRate;
    Family<Gauge> &eventSubscribers;
    Family<Gauge> &eventLatencyMax;

    Family<Counter> &handlerCalls;
    Family<Counter> &handlerErrors;
    Family<Gauge> &handlerDurationMax;
};

PoolMetricFamilies::PoolMetricFamilies()
    : poolUp(gaugeFamily(registry, "mvent_pool_up",
                         "1 if the pool could be opened to read its figures, else 0.")),
      poolSize(gaugeFamily(registry, "mvent_pool_size_bytes",
                           "Size of the whole shared-memory segment, header and regions "
                           "included.")),
      poolHeapSize(gaugeFamily(registry, "mvent_pool_heap_size_bytes",
                               "Bytes of the segment available to entries.")),
      poolUsed(gaugeFamily(registry, "mvent_pool_used_bytes",
                           "Heap bytes in allocated blocks, block headers included.")),
      poolFree(gaugeFamily(registry, "mvent_pool_free_bytes", "Heap bytes not allocated.")),
      poolLargestFreeBlock(gaugeFamily(registry, "mvent_pool_largest_free_block_bytes",
                                       "Size of the largest free heap block.")),
      poolStatsBytes(gaugeFamily(registry, "mvent_pool_stats_bytes",
                                 "Heap bytes in the stats blocks of processes, part of "
                                 "mvent_pool_used_bytes.")),
      poolEntries(gaugeFamily(registry, "mvent_pool_entries",
                              "Keys stored in the pool, expired ones not yet reclaimed "
                              "included.")),
      poolMaxEntries(gaugeFamily(registry, "mvent_pool_max_entries",
                                 "Maximum number of keys the pool can store.")),
      poolAttachedProcesses(gaugeFamily(registry, "mvent_pool_attached_processes",
                                        "Processes attached to the pool with a process slot.")),
      poolMaxAttachments(gaugeFamily(registry, "mvent_pool_max_attachments",
                                     "Number of process slots of the pool.")),
      poolEventLogSize(gaugeFamily(registry, "mvent_pool_event_log_size_bytes",
                                   "Size of the pool's event log.")),
      poolEventLogRecords(counterFamily(registry, "mvent_pool_event_log_records_total",
                                        "Records ever appended to the pool's event log.")),
      poolRecoveries(counterFamily(registry, "mvent_pool_recoveries_total",
                                   "Times a lock holder repaired the pool after a writer "
                                   "died.")),
      poolCreated(gaugeFamily(registry, "mvent_pool_created_timestamp_seconds",
                              "Time the pool was created, in seconds since the Unix epoch.")),
      processAlive(gaugeFamily(registry, "mvent_process_alive",
                               "1 while the process is attached, 0 once it exited and its "
                               "slot is not reused yet.")),
      processAttached(gaugeFamily(registry, "mvent_process_attached_timestamp_seconds",
                                  "Time the process attached, in seconds since the Unix "
                                  "epoch.")),
      processHeartbeat(gaugeFamily(registry, "mvent_process_heartbeat_timestamp_seconds",
                                   "Time of the process's last heartbeat, in seconds since "
                                   "the Unix epoch.")),
      processPublished(counterFamily(registry, "mvent_process_published_total",
                                     "Events the process published.")),
      processReceived(counterFamily(registry, "mvent_process_received_total",
                                    "Events delivered to the process.")),
      processSentBytes(counterFamily(registry, "mvent_process_published_bytes_total",
                                     "Encoded value bytes of the events the process "
                                     "published.")),
      processReceivedBytes(counterFamily(registry, "mvent_process_received_bytes_total",
                                         "Encoded value bytes of the events delivered to the "
                                         "process.")),
      processHandlerCalls(counterFamily(registry, "mvent_process_handler_calls_total",
                                        "Handler calls in the process.")),
      processHandlerErrors(counterFamily(registry, "mvent_process_handler_errors_total",
                                         "Handler calls in the process that threw.")),
      processMissed(counterFamily(registry, "mvent_process_missed_total",
                                  "Event log records lost because the log overtook the "
                                  "process.")),
      processLag(gaugeFamily(registry, "mvent_process_lag",
                             "Event log records appended but not yet read by the process, at "
                             "its last delivery.")),
      eventsPublished(counterFamily(registry, "mvent_events_published_total",
                                    "Events published under this name by all processes.")),
      eventsReceived(counterFamily(registry, "mvent_events_received_total",
                                   "Deliveries of events of this name, summed over "
                                   "subscribers.")),
      eventsPublishedBytes(counterFamily(registry, "mvent_events_published_bytes_total",
                                         "Encoded value bytes published under this name.")),
      eventRate(gaugeFamily(registry, "mvent_event_rate_per_second",
                            "Events published per second under this name, averaged over the "
                            "last complete seconds of the window.")),
      eventSubscribers(gaugeFamily(registry, "mvent_event_subscribers",
                                   "Processes that received events of this name.")),
      eventLatencyMax(gaugeFamily(registry, "mvent_event_latency_max_seconds",
                                  "Longest time from publication to delivery of an event of "
                                  "this name.")),
      handlerCalls(counterFamily(registry, "mvent_handler_calls_total",
                                 "Calls of the handler, summed over processes.")),
      handlerErrors(counterFamily(registry, "mvent_handler_errors_total",
                                  "Calls of the handler that threw, summed over processes.")),
      handlerDurationMax(gaugeFamily(registry, "mvent_handler_duration_max_seconds",
                                     "Longest call of the handler."))
{
}

void PoolMetricFamilies::addMemory(const Labels &pool, const PoolStats &stats)
{
    setGauge(poolUp, pool, 1);
    setGauge(poolSize, pool, double(stats.totalSize));
    setGauge(poolHeapSize, pool, double(stats.heapSize));
    setGauge(poolUsed, pool, double(stats.usedBytes));
    setGauge(poolFree, pool, double(stats.freeBytes));
    setGauge(poolLargestFreeBlock, pool, double(stats.largestFreeBlock));
    setGauge(poolStatsBytes, pool, double(stats.statsBytes));
    setGauge(poolEntries, pool, double(stats.entryCount));
    setGauge(poolMaxEntries, pool, double(stats.maxEntries));
    setGauge(poolAttachedProcesses, pool, double(stats.attachedProcesses));
    setGauge(poolMaxAttachments, pool, double(stats.maxAttachments));
    setGauge(poolEventLogSize, pool, double(stats.eventLogSize));
    setCounter(poolEventLogRecords, pool, double(stats.eventSequence));
    setCounter(poolRecoveries, pool, double(stats.recoveries));
    if (stats.createdAt.isValid()) {
        setGauge(poolCreated, pool, double(stats.createdAt.toMSecsSinceEpoch()) / 1000);
    }
}

void PoolMetricFamilies::addProcesses(const Labels &pool, const QList<ProcessInfo> &processes)
{
    // NOTE: an exited process stays listed until its slot is reused, so a new process with
    // the same pid and name shares its series until then.
    for (const ProcessInfo &process : processes) {
        Labels labels = pool;
        labels.emplace("pid", std::to_string(process.pid));
        labels.emplace("process", text(process.name));
        setGauge(processAlive, labels, process.alive ? 1 : 0);
        setGauge(processAttached, labels, double(process.attachedMs) / 1000);
        setGauge(processHeartbeat, labels, double(process.heartbeatMs) / 1000);
        if (!process.hasStats) {
            continue; // the pool had no heap room for this process's counters
        }
        setCounter(processPublished, labels, double(process.published));
        setCounter(processReceived, labels, double(process.received));
        setCounter(processSentBytes, labels, double(process.bytesOut));
        setCounter(processReceivedBytes, labels, double(process.bytesIn));
        setCounter(processHandlerCalls, labels, double(process.handlerCalls));
        setCounter(processHandlerErrors, labels, double(process.handlerErrors));
        setCounter(processMissed, labels, double(process.missed));
        setGauge(processLag, labels, double(process.lag));
    }
}

void PoolMetricFamilies::addEvents(const Labels &pool, const QList<EventInfoStats> &events)
{
    for (const EventInfoStats &event : events) {
        Labels labels = pool;
        labels.emplace("event", text(event.name));
        setCounter(eventsPublished, labels, double(event.published));
        setCounter(eventsReceived, labels, double(event.received));
        setCounter(eventsPublishedBytes, labels, double(event.bytes));
        setGauge(eventSubscribers, labels, event.subscribers);
        setGauge(eventLatencyMax, labels, double(event.latency.maxNs) / NanosecondsPerSecond);

        const std::pair<const char *, double> windows[] = { { "1s", event.rate1s },
                                                            { "10s", event.rate10s },
                                                            { "60s", event.rate60s } };
        for (const auto &[window, rate] : windows) {
            Labels windowLabels = labels;
            windowLabels.emplace("window", window);
            setGauge(eventRate, windowLabels, rate);
        }
        addSummary(&eventLatency, labels, event.latency);
    }
}

void PoolMetricFamilies::addHandlers(const Labels &pool, const QList<HandlerStats> &handlers)
{
    for (const HandlerStats &handler : handlers) {
        Labels labels = pool;
        labels.emplace("handler", text(handler.name));
        setCounter(handlerCalls, labels, double(handler.calls));
        setCounter(handlerErrors, labels, double(handler.errors));
        setGauge(handlerDurationMax, labels, double(handler.duration.maxNs) / NanosecondsPerSecond);
        addSummary(&handlerDuration, labels, handler.duration);
    }
}

PoolMetrics::PoolMetrics()
    : m_families(std::make_unique<PoolMetricFamilies>())
{
}

PoolMetrics::~PoolMetrics() = default;

void PoolMetrics::addPool(const MonitoringTools &tools)
{
    const Labels pool{ { "pool", text(tools.poolName()) } };
    m_families->addMemory(pool, tools.memoryStats());
    m_families->addProcesses(pool, tools.processes());
    m_families->addEvents(pool, tools.eventStats());
    m_families->addHandlers(pool, tools.handlerStats());
}

void PoolMetrics::addUnavailablePool(const QString &poolName)
{
    setGauge(m_families->poolUp, { { "pool", text(poolName) } }, 0);
}

std::vector<MetricFamily> PoolMetrics::collect() const
{
    std::vector<MetricFamily> families = m_families->registry.Collect();
    for (const MetricFamily *summary :
         { &m_families->eventLatency, &m_families->handlerDuration }) {
        if (!summary->metric.empty()) {
            families.push_back(*summary);
        }
    }
    return families;
}

QByteArray prometheusText(const std::vector<MetricFamily> &families)
{
    std::ostringstream stream;
    prometheus::TextSerializer().Serialize(stream, families);
    return QByteArray::fromStdString(stream.str());
}

} // namespace mvent::cli
