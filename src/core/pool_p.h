// SPDX-License-Identifier: MIT
#pragma once

#include "eventlog_p.h"
#include "keyindex_p.h"
#include "layout_p.h"
#include "mvent_core_export.h"
#include "processtable_p.h"
#include "segment_p.h"
#include "statsblock_p.h"
#include "sharedmemorypool.h"
#include "valuecodec_p.h"

#include <optional>
#include <vector>

namespace mvent {

struct PoolError
{
    SharedMemoryPool::Error code = SharedMemoryPool::NoError;
    QString message;

    bool set(SharedMemoryPool::Error errorCode, const QString &text)
    {
        code = errorCode;
        message = text;
        return false;
    }
};

/*
    The pool engine without Qt signals: maps a segment, validates it, claims a process slot,
    and implements the key/value operations on the index, heap and change log. Writers hold
    the robust lock; readers use the header's write sequence as a seqlock and retry when a
    writer intervened. Every offset read from the segment is bounds-checked.

    Thread-safe: one Pool may be used from several threads.
*/
class MVENT_CORE_EXPORT Pool
{
public:
    Pool(const QString &name, const SharedMemoryPool::Options &options);
    ~Pool();
    Q_DISABLE_COPY_MOVE(Pool)

    // Opens the segment; with a non-empty doorbellName also claims a process slot.
    bool open(const QByteArray &doorbellName, PoolError *error);
    void close();
    bool isOpen() const { return m_header != nullptr; }

    bool set(QByteArrayView key, const EncodedValue &value, qint64 expiresMs, PoolError *error);
    // Returns std::nullopt when the key is missing or expired; error->code distinguishes failures.
    std::optional<EncodedValue> get(QByteArrayView key, PoolError *error) const;
    bool remove(QByteArrayView key, bool *existed, PoolError *error);
    // Appends an event to the log and stores its CLOCK_MONOTONIC time in *sentNs. A non-zero
    // expiresMs also stores the value under the event name until then, for late joiners, and
    // logs that change first.
    bool publishEvent(QByteArrayView name, const EncodedValue &value, qint64 expiresMs,
                      qint64 *sentNs, PoolError *error);
    std::optional<QList<QByteArray>> keys(PoolError *error) const;
    bool clear(PoolError *error);
    // Removes expired entries, logging a removal for each. Returns the count or -1 on error.
    // lockTimeoutMs below 0 waits Options::lockTimeoutMs for the lock.
    int removeExpired(PoolError *error, int lockTimeoutMs = -1);
    PoolStats stats() const;
    // Marks the pool destroyed, wakes every listener and removes the segment's name. The
    // mapping stays until close(), so that the owner can stop its background work first.
    bool destroy(PoolError *error);

    bool isDestroyed() const;
    void heartbeat();
    int reclaimDeadSlots(int lockTimeoutMs = -1);
    bool hasExpiringEntries() const;

    qint64 maxValueSize(qsizetype keyLength = 0) const;
    qint64 segmentSize() const;
    int slotIndex() const { return m_slot; }
    // The end of the log when the slot was claimed: records appended after the process became
    // visible as attached.
    EventLog::Cursor attachCursor() const { return m_attachCursor; }
    EventLog *log() const { return m_log.get(); }
    // This object's stats writer; its block is null without a slot or heap room.
    StatsWriter *statsWriter() const { return m_stats.get(); }
    // Returns the validated stats block of a process slot, or null; *validRecords is the
    // number of records that may be read.
    const layout::StatsBlockHeader *statsBlock(quint32 slotIndex, quint32 *validRecords) const;
    ProcessTable *processes() const { return m_processes.get(); }

    // Checks that the pool is attached and the value of key or event name fits.
    bool checkWrite(QByteArrayView name, const EncodedValue &value, const char *what,
                    PoolError *error) const;
    // Converts a key or event name to UTF-8, rejecting unpaired UTF-16 surrogates, which
    // UTF-8 cannot carry and toUtf8() would silently replace, merging distinct keys.
    static std::optional<QByteArray> encodeKey(const QString &key, PoolError *error);
    // Checks a key: not empty, at most layout::MaxKeyBytes of UTF-8.
    static bool checkKey(QByteArrayView key, PoolError *error);

private:
    class WriteLock;
    struct Lookup
    {
        quint32 slot = 0;
        quint64 entry = 0;    // block offset of the entry, 0 if the key is absent
        bool haveFreeSlot = false;
        quint32 freeSlot = 0; // first empty or tombstone slot on the probe path
    };

    bool lock(PoolError *error, int timeoutMs = -1);
    void unlock();
    void recoverLocked();
    Lookup findLocked(const KeyIndex &index, QByteArrayView key, quint64 hash) const;
    bool insertLocked(QByteArrayView key, const EncodedValue &value, qint64 expiresMs,
                      PoolError *error);
    void compactIndexLocked();
    void attachStatsBlockLocked(quint64 previousStats);
    // Offsets of the valid stats blocks of all slots that are not free, sorted.
    std::vector<quint64> statsBlocksLocked() const;
    int removeExpiredLocked();
    void retractLocked(const KeyIndex &index, quint32 slot, quint64 entry);
    // Copies and validates the entry header of the block at offset; *payload then points at
    // its key, followed by the value.
    bool entryAt(quint64 offset, layout::Entry *entry, const char **payload) const;
    QString fullMessage(quint64 needed) const;

    QString m_name;
    SharedMemoryPool::Options m_options;
    std::unique_ptr<Segment> m_segment;
    uchar *m_memory = nullptr;
    quint64 m_size = 0;
    layout::Header *m_header = nullptr;
    std::unique_ptr<EventLog> m_log;
    std::unique_ptr<ProcessTable> m_processes;
    int m_slot = -1;
    quint32 m_pid = 0;
    std::unique_ptr<StatsWriter> m_stats;
    EventLog::Cursor m_attachCursor;
};

} // namespace mvent
