// SPDX-License-Identifier: MIT
#pragma once

#include "layout_p.h"
#include "mvent_core_export.h"

#include <QByteArray>
#include <QHash>
#include <QMutex>

#include <atomic>

namespace mvent {

class Pool;

namespace layout {

constexpr quint32 StatsMagic = 0x53544154; // "TATS" read little-endian
constexpr int StatsRateSeconds = 64;       // per-second counters kept for rate windows
constexpr int StatsHistogramBuckets = 112; // 4 per power of two, from 64 ns to about 17 s

enum StatsKind : quint32 {
    StatsUnused = 0,
    StatsEventPublished = 1, // count and bytes of events this process published
    StatsEventReceived = 2,  // deliveries to this process; histogram of publish-to-delivery ns
    StatsHandler = 3,        // handler calls; errors; histogram of durations
};

// One named counter set. Written by the owning process with relaxed atomics only.
struct StatsRecord
{
    std::atomic<quint32> kind;  // stored last when the record is created
    quint32 nameLength;
    char name[120];
    std::atomic<quint64> count;
    std::atomic<quint64> errors;
    std::atomic<quint64> bytes;
    std::atomic<quint64> totalNs;
    std::atomic<quint64> maxNs;
    std::atomic<quint64> lastSecond; // CLOCK_MONOTONIC second of the newest perSecond bucket
    std::atomic<quint32> perSecond[StatsRateSeconds];
    std::atomic<quint32> histogram[StatsHistogramBuckets];
    quint8 reserved[144];
};
static_assert(sizeof(StatsRecord) == 1024);

// Start of a process's stats block; capacity records follow it.
struct StatsBlockHeader
{
    quint32 magic;
    quint32 capacity;
    std::atomic<quint32> count; // records in use; a record is readable once its kind is set
    quint32 reserved0;
    std::atomic<quint64> published;
    std::atomic<quint64> received;
    std::atomic<quint64> bytesOut;
    std::atomic<quint64> bytesIn;
    std::atomic<quint64> handlerCalls;
    std::atomic<quint64> handlerErrors;
    std::atomic<quint64> missed;
    std::atomic<quint64> lag;
    quint64 reserved1[6];
};
static_assert(sizeof(StatsBlockHeader) == 128);

constexpr quint64 statsBlockSize(quint32 capacity)
{
    return sizeof(StatsBlockHeader) + quint64(capacity) * sizeof(StatsRecord);
}

} // namespace layout

/*
    Records this process's figures into its stats block. Finding a record by name takes a
    process-local lock only the first time a name is seen. Counting is relaxed atomic
    increments, plus the caller's clock reads for durations.
*/
class MVENT_CORE_EXPORT StatsWriter
{
public:
    // block is null when the pool had no room for a stats block; every call is then a no-op.
    explicit StatsWriter(layout::StatsBlockHeader *block);

    layout::StatsBlockHeader *block() const { return m_block; }
    // Returns the record of kind and name, creating it; null when the block is full or absent.
    layout::StatsRecord *record(layout::StatsKind kind, QByteArrayView name);

    static void count(layout::StatsRecord *record, quint64 bytes, qint64 nowNs);
    static void addDuration(layout::StatsRecord *record, qint64 durationNs);
    static int bucketFor(qint64 ns);
    // Upper bound in nanoseconds of histogram bucket index.
    static qint64 bucketUpperBound(int index);

private:
    layout::StatsBlockHeader *m_block;
    QMutex m_mutex;
    QHash<QPair<quint32, QByteArray>, layout::StatsRecord *> m_records;
    bool m_warnedFull = false;
};

} // namespace mvent
