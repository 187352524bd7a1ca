// SPDX-License-Identifier: MIT
#include "eventlog_p.h"

#include "clock_p.h"

#include <cstring>
#include <sched.h>

namespace mvent {

using namespace layout;

EventLog::EventLog(uchar *segment, Header *header)
    : m_ring(segment + header->logOffset)
    , m_size(header->logSize)
    , m_state(&header->log)
{
}

quint64 EventLog::recordSize(qsizetype nameLength, qsizetype valueLength)
{
    return alignUp(sizeof(RecordHeader) + quint64(nameLength) + quint64(valueLength), 8);
}

quint64 EventLog::maxValueLength(qsizetype nameLength) const
{
    const quint64 limit = m_size / 4;
    const quint64 overhead = sizeof(RecordHeader) + quint64(nameLength) + 8;
    return limit > overhead ? limit - overhead : 0;
}

void EventLog::reclaimUntil(quint64 end)
{
    // Positions below end - size are about to be overwritten.
    if (end <= m_size) {
        return;
    }
    // Free at least a sixteenth of the ring at a time, so the cold header reads and the fence
    // below are paid once per many appends instead of once per append.
    const quint64 position = end - m_size + m_size / 16;
    // Move the tail record by record until it reaches position; readers still behind the new
    // tail count the records they missed.
    quint64 tail = m_state->tail.load(std::memory_order_relaxed);
    if (tail >= end - m_size) {
        return; // the bytes about to be written hold no readable record
    }
    if (position - tail > m_size) {
        // Between a valid tail and position there is at most one ring of records. A damaged
        // head or tail can put them further apart, and walking that distance record by record
        // could take 2^40 steps under the lock, so every record before position is dropped.
        tail = position;
    }
    while (tail < position) {
        const auto *header = reinterpret_cast<const RecordHeader *>(at(tail));
        quint64 size = header->size;
        if (size < 8 || size % 8 != 0 || size > m_size) {
            // Only a writer that died mid-append leaves this; drop everything before position.
            size = position - tail;
        }
        tail += size;
    }
    m_state->tail.store(tail, std::memory_order_relaxed);
    // Readers check the tail after copying, so it must be visible before the bytes change.
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

quint64 EventLog::append(quint32 kind, QByteArrayView name, QByteArrayView value,
                         quint32 encoding, quint32 pid, qint64 *timeNs)
{
    const quint64 size = recordSize(name.size(), value.size());
    quint64 head = m_state->head.load(std::memory_order_relaxed);
    const quint64 untilEnd = m_size - (head & (m_size - 1));
    if (untilEnd < size) {
        reclaimUntil(head + untilEnd + size);
        auto *padding = reinterpret_cast<RecordHeader *>(at(head));
        padding->size = quint32(untilEnd);
        padding->kind = RecordPadding;
        head += untilEnd;
        m_state->head.store(head, std::memory_order_release);
    }
    reclaimUntil(head + size);

    const quint64 sequence = m_state->nextSequence.load(std::memory_order_relaxed);
    auto *header = reinterpret_cast<RecordHeader *>(at(head));
    header->size = quint32(size);
    header->kind = kind;
    header->sequence = sequence;
    header->timeNs = monotonicNs();
    if (timeNs) {
        *timeNs = header->timeNs;
    }
    header->pid = pid;
    header->nameLength = quint16(name.size());
    header->cpu = quint16(qMax(::sched_getcpu(), 0));
    header->encoding = encoding;
    header->valueLength = quint32(value.size());
    uchar *payload = reinterpret_cast<uchar *>(header + 1);
    if (!name.isEmpty()) {
        std::memcpy(payload, name.data(), size_t(name.size()));
    }
    if (!value.isEmpty()) {
        std::memcpy(payload + name.size(), value.data(), size_t(value.size()));
    }

    m_state->nextSequence.store(sequence + 1, std::memory_order_relaxed);
    m_state->head.store(head + size, std::memory_order_release);
    return sequence;
}

void EventLog::skipSequence()
{
    m_state->nextSequence.store(m_state->nextSequence.load(std::memory_order_relaxed) + 1,
                                std::memory_order_relaxed);
}

EventLog::Cursor EventLog::endCursor() const
{
    // head and nextSequence change together under the lock; retry until both are from one
    // moment.
    for (;;) {
        const quint64 head = m_state->head.load(std::memory_order_acquire);
        const quint64 sequence = m_state->nextSequence.load(std::memory_order_acquire);
        if (m_state->head.load(std::memory_order_acquire) == head) {
            return {head, sequence, head};
        }
    }
}

quint64 EventLog::headPosition() const
{
    return m_state->head.load(std::memory_order_acquire);
}

void EventLog::copyHeader(quint64 position, RecordHeader *header) const
{
    // A padding record at the end of the ring may be shorter than a header; never read past
    // the ring for it.
    const quint64 available = m_size - (position & (m_size - 1));
    std::memset(header, 0, sizeof *header);
    std::memcpy(header, at(position), size_t(qMin<quint64>(sizeof *header, available)));
}

EventLog::ReadResult EventLog::read(Cursor *cursor, LogRecord *record, quint64 *missed,
                                    RecordFilter *filter) const
{
    *missed = 0;
    for (;;) {
        if (cursor->position >= cursor->knownHead) {
            cursor->knownHead = m_state->head.load(std::memory_order_acquire);
            if (cursor->position == cursor->knownHead) {
                return Empty;
            }
            if (cursor->position > cursor->knownHead) {
                // The cursor is ahead of the writer, which only a damaged log explains.
                *cursor = endCursor();
                *missed += 1;
                return Empty;
            }
        }
        if (cursor->knownHead - cursor->position > m_size) {
            // Readable records lie within one ring below the head, because the writer moves
            // the tail before it overwrites. A cursor further behind is moved to the tail
            // below. A tail that is itself further behind, or not ahead of the cursor, means
            // the log is damaged, and walking it record by record could take 2^40 steps.
            const quint64 tail = m_state->tail.load(std::memory_order_acquire);
            if (tail <= cursor->position || cursor->knownHead - tail > m_size) {
                *cursor = endCursor();
                *missed += 1;
                return Empty;
            }
        }

        RecordHeader header;
        copyHeader(cursor->position, &header);
        const quint64 offsetInRing = cursor->position & (m_size - 1);
        const bool sane = header.size >= 8 && header.size % 8 == 0
                && header.size <= m_size - offsetInRing
                && cursor->position + header.size <= cursor->knownHead
                && (header.kind == RecordPadding
                    || (header.size >= sizeof(RecordHeader)
                        && sizeof(RecordHeader) + quint64(header.nameLength) + header.valueLength
                                <= header.size));
        if (sane && header.kind != RecordPadding) {
            const char *payload = reinterpret_cast<const char *>(at(cursor->position)) + sizeof header;
            // Streams repeat one name, so keep the previous copy when the bytes match.
            if (record->name.size() != header.nameLength
                || std::memcmp(record->name.constData(), payload, header.nameLength) != 0) {
                record->name = QByteArray(payload, header.nameLength);
            }
            record->accepted = !filter || filter->accepts(header.kind, record->name);
            const char *value = payload + header.nameLength;
            if (!record->accepted) {
                record->value.clear();
            } else if (record->value.isDetached() && header.valueLength > 0) {
                // No other reference shares the previous value, so its buffer is reused.
                record->value.resize(qsizetype(header.valueLength));
                std::memcpy(record->value.data(), value, header.valueLength);
            } else {
                record->value = QByteArray(value, header.valueLength);
            }
        }

        // The writer moves the tail before it overwrites bytes, so a tail still at or below
        // the cursor proves that the copy above is intact.
        std::atomic_thread_fence(std::memory_order_acquire);
        const quint64 tail = m_state->tail.load(std::memory_order_acquire);
        if (cursor->position < tail) {
            RecordHeader oldest;
            copyHeader(tail, &oldest);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (m_state->tail.load(std::memory_order_acquire) != tail) {
                continue;
            }
            if (oldest.kind != RecordPadding && oldest.sequence > cursor->sequence) {
                *missed += oldest.sequence - cursor->sequence;
                cursor->sequence = oldest.sequence;
            }
            cursor->position = tail;
            continue;
        }
        if (!sane) {
            // Bytes between tail and head are stable, so this is damage, not a race.
            *cursor = endCursor();
            *missed += 1;
            return Empty;
        }
        cursor->position += header.size;
        if (header.kind == RecordPadding) {
            continue;
        }
        if (header.sequence > cursor->sequence) {
            *missed += header.sequence - cursor->sequence;
        }
        cursor->sequence = header.sequence + 1;
        record->kind = header.kind;
        record->sequence = header.sequence;
        record->timeNs = header.timeNs;
        record->pid = header.pid;
        record->cpu = header.cpu;
        record->encoding = header.encoding;
        return Record;
    }
}

} // namespace mvent
