// SPDX-License-Identifier: MIT
#include "statsblock_p.h"

#include "logging_p.h"

#include <bit>
#include <cstring>

namespace mvent {

using namespace layout;

namespace {
constexpr int FirstOctave = 6; // bucket 0 counts durations below 2^6 ns
} // namespace

StatsWriter::StatsWriter(StatsBlockHeader *block)
    : m_block(block)
{
}

StatsRecord *StatsWriter::record(StatsKind kind, QByteArrayView name)
{
    if (!m_block) {
        return nullptr;
    }
    const QPair<quint32, QByteArray> key(kind, name.toByteArray());
    QMutexLocker locker(&m_mutex);
    if (StatsRecord *existing = m_records.value(key)) {
        return existing;
    }
    const quint32 index = m_block->count.load(std::memory_order_relaxed);
    if (index >= m_block->capacity) {
        // NOTE: names beyond the block's capacity are not counted.
        if (!m_warnedFull) {
            m_warnedFull = true;
            qCWarning(lcPool, "the stats block of this process is full with %u names; figures "
                              "of '%s' and later names are not recorded; open the pool with a "
                              "larger Options::statsRecords (and size) to record more",
                      m_block->capacity, name.toByteArray().constData());
        }
        return nullptr;
    }
    auto *record = reinterpret_cast<StatsRecord *>(reinterpret_cast<uchar *>(m_block + 1)
                                                   + quint64(index) * sizeof(StatsRecord));
    const quint32 length = quint32(qMin<qsizetype>(name.size(), sizeof record->name));
    std::memcpy(record->name, name.data(), length);
    record->nameLength = length;
    // Readers skip a record until its kind is set, so the name is complete when they see it.
    record->kind.store(kind, std::memory_order_release);
    m_block->count.store(index + 1, std::memory_order_release);
    m_records.insert(key, record);
    return record;
}

void StatsWriter::count(StatsRecord *record, quint64 bytes, qint64 nowNs)
{
    if (!record) {
        return;
    }
    record->count.fetch_add(1, std::memory_order_relaxed);
    if (bytes) {
        record->bytes.fetch_add(bytes, std::memory_order_relaxed);
    }
    // Per-second buckets for the rate windows: a new second clears the buckets it skipped.
    const quint64 second = quint64(nowNs / 1000000000);
    const quint64 last = record->lastSecond.load(std::memory_order_relaxed);
    if (second != last) {
        const quint64 gap = second > last ? qMin<quint64>(second - last, StatsRateSeconds)
                                          : StatsRateSeconds;
        for (quint64 i = 1; i <= gap; ++i) {
            record->perSecond[(last + i) % StatsRateSeconds].store(0, std::memory_order_relaxed);
        }
        record->lastSecond.store(second, std::memory_order_relaxed);
    }
    record->perSecond[second % StatsRateSeconds].fetch_add(1, std::memory_order_relaxed);
}

int StatsWriter::bucketFor(qint64 ns)
{
    if (ns < (qint64(1) << FirstOctave)) {
        return 0;
    }
    const int octave = std::bit_width(quint64(ns)) - 1;
    const int subBucket = int((quint64(ns) >> (octave - 2)) & 3);
    return qMin(1 + (octave - FirstOctave) * 4 + subBucket, StatsHistogramBuckets - 1);
}

qint64 StatsWriter::bucketUpperBound(int index)
{
    if (index <= 0) {
        return qint64(1) << FirstOctave;
    }
    const int octave = FirstOctave + (index - 1) / 4;
    const int subBucket = (index - 1) % 4;
    return (qint64(1) << octave) + (qint64(subBucket + 1) << (octave - 2));
}

void StatsWriter::addDuration(StatsRecord *record, qint64 durationNs)
{
    if (!record || durationNs < 0) {
        return;
    }
    record->totalNs.fetch_add(quint64(durationNs), std::memory_order_relaxed);
    record->histogram[bucketFor(durationNs)].fetch_add(1, std::memory_order_relaxed);
    quint64 max = record->maxNs.load(std::memory_order_relaxed);
    while (quint64(durationNs) > max
           && !record->maxNs.compare_exchange_weak(max, quint64(durationNs),
                                                   std::memory_order_relaxed)) {
    }
}

} // namespace mvent
