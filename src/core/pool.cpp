// SPDX-License-Identifier: MIT
#include "pool_p.h"

#include "allocator_p.h"
#include "clock_p.h"
#include "doorbell_p.h"
#include "keyindex_p.h"
#include "logging_p.h"
#include "robustmutex_p.h"
#include "runtimedir_p.h"
#include "statsblock_p.h"

#include <QThread>

#include <algorithm>
#include <cstring>
#include <unistd.h>

namespace mvent {

using namespace layout;
using Error = SharedMemoryPool::Error;

namespace {

// A lock-free read gives up and takes the lock after this many conflicting writers, so a
// reader cannot starve and a writer that died with the sequence odd gets repaired.
constexpr int OptimisticAttempts = 64;
// Rounds of create() and attach() in CreateOrAttach while other processes keep creating and
// removing the same pool.
constexpr int CreateAttempts = 8;

inline void cpuRelax()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

} // namespace

// Holds the pool lock and keeps the write sequence odd for its lifetime, so lock-free
// readers retry.
class Pool::WriteLock
{
public:
    WriteLock(const Pool *pool, PoolError *error, int timeoutMs = -1)
        : m_pool(const_cast<Pool *>(pool))
    {
        m_locked = m_pool->lock(error, timeoutMs);
        if (m_locked) {
            // Only the lock holder writes the sequence, so a plain store replaces a locked add.
            std::atomic<quint64> &sequence = m_pool->m_header->writeSequence;
            sequence.store(sequence.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_release);
        }
    }
    ~WriteLock()
    {
        if (m_locked) {
            std::atomic<quint64> &sequence = m_pool->m_header->writeSequence;
            sequence.store(sequence.load(std::memory_order_relaxed) + 1, std::memory_order_release);
            m_pool->unlock();
        }
    }
    bool isLocked() const { return m_locked; }

private:
    Pool *m_pool;
    bool m_locked = false;
};

Pool::Pool(const QString &name, const SharedMemoryPool::Options &options)
    : m_name(name)
    , m_options(options)
    , m_pid(quint32(::getpid()))
{
}

Pool::~Pool()
{
    close();
}

bool Pool::open(const QByteArray &doorbellName, PoolError *error)
{
    close();
    if (const QString problem = poolNameProblem(m_name); !problem.isEmpty()) {
        return error->set(Error::InvalidName, problem);
    }
    QString message;
    if (!ensureRuntimeDirectory(&message)) {
        return error->set(Error::PermissionDenied, message);
    }

    m_segment = m_options.backing == SharedMemoryPool::QtSharedMemoryBacking
            ? Segment::createQtSharedMemorySegment(m_name)
            : Segment::createFileSegment(m_name);
    const QByteArray utf8Name = m_name.toUtf8();

    Segment::Result result = Segment::Missing;
    if (m_options.openMode != SharedMemoryPool::CreateOnly) {
        result = m_segment->attach();
    }
    if (result == Segment::Missing && m_options.openMode != SharedMemoryPool::AttachOnly) {
        Geometry geometry;
        if (!computeGeometry(quint64(qMax<qint64>(m_options.size, 0)),
                             quint32(qMax(m_options.maxEntries, 0)),
                             quint32(qMax(m_options.maxAttachments, 0)),
                             quint64(qMax<qint64>(m_options.eventLogSize, 0)), &geometry,
                             &message)) {
            return error->set(Error::InvalidOptions, message);
        }
        // A pool can vanish between the create() that found it and the attach() after it,
        // because another process removed the file or the last user of a QSharedMemory
        // segment detached. CreateOrAttach then creates it again, a bounded number of times.
        bool created = false;
        for (int attempt = 0; attempt < CreateAttempts; ++attempt) {
            result = m_segment->create(qint64(geometry.totalSize), m_options.permissions,
                                       [&](uchar *memory, qint64, QString *initialiseError) {
                                           return initialiseSegment(memory, geometry, utf8Name,
                                                                    initialiseError);
                                       });
            if (result == Segment::Ok) {
                created = true;
                break;
            }
            if (m_options.openMode != SharedMemoryPool::CreateOrAttach) {
                break;
            }
            if (result == Segment::Exists) {
                result = m_segment->attach(); // another process won the race to create it
            }
            // QSharedMemory::create() of Qt 6.4 also reports NotFound in this race, seen in
            // createOrAttachRacesRemoval. NOTE: the cause inside Qt is a guess (a detaching
            // process removing the key file during create()).
            if (result != Segment::Missing) {
                break;
            }
        }
        if (result == Segment::Exists && m_options.openMode == SharedMemoryPool::CreateOnly) {
            return error->set(Error::AlreadyExists,
                              QStringLiteral("pool '%1' already exists").arg(m_name));
        }
        if (created) {
            qCInfo(lcPool, "created pool %s (%s, %llu bytes)", qPrintable(m_name),
                   qPrintable(m_segment->backingName()), quint64(geometry.totalSize));
        }
    } else if (result == Segment::Ok && m_options.openMode == SharedMemoryPool::CreateOnly) {
        m_segment->detach();
        return error->set(Error::AlreadyExists, QStringLiteral("pool '%1' already exists").arg(m_name));
    }

    switch (result) {
    case Segment::Ok:
        break;
    case Segment::Missing:
        m_segment.reset();
        return error->set(Error::NotFound, QStringLiteral("pool '%1' does not exist").arg(m_name));
    case Segment::Denied:
        message = m_segment->errorString();
        m_segment.reset();
        return error->set(Error::PermissionDenied,
                          QStringLiteral("permission denied for pool '%1': %2").arg(m_name, message));
    case Segment::Exists:
    case Segment::Failed:
        message = m_segment->errorString();
        m_segment.reset();
        return error->set(Error::ResourceError, message);
    }

    ValidationResult validation = validateSegment(m_segment->data(), quint64(m_segment->size()),
                                                  utf8Name, &message);
    if (validation == ValidationResult::BadMagic && m_options.openMode == SharedMemoryPool::CreateOrAttach
        && reinterpret_cast<const Header *>(m_segment->data())->magic == 0) {
        // A creator died before it finished; only the QSharedMemory backing can show this,
        // because file segments are published complete.
        Geometry geometry;
        if (computeGeometry(quint64(m_segment->size()), quint32(qMax(m_options.maxEntries, 1)),
                            quint32(qMax(m_options.maxAttachments, 1)),
                            quint64(qMax<qint64>(m_options.eventLogSize, 0)), &geometry, &message)
            && m_segment->adoptAbandoned([&](uchar *memory, qint64, QString *initialiseError) {
                   return initialiseSegment(memory, geometry, utf8Name, initialiseError);
               })) {
            qCWarning(lcPool, "pool %s: initialised a segment that its creator abandoned",
                      qPrintable(m_name));
        }
        validation = validateSegment(m_segment->data(), quint64(m_segment->size()), utf8Name,
                                     &message);
    }
    if (validation != ValidationResult::Valid) {
        const QString location = m_segment->location();
        m_segment.reset();
        qCWarning(lcPool, "cannot attach to pool %s: %s", qPrintable(m_name), qPrintable(message));
        const Error code = validation == ValidationResult::BadVersion ? Error::IncompatibleVersion
                                                                      : Error::CorruptSegment;
        return error->set(code, QStringLiteral("cannot attach to pool '%1' at %2: %3; remove it "
                                               "with 'mvent rm %1' if it is stale")
                                        .arg(m_name, location, message));
    }

    m_memory = m_segment->data();
    m_size = quint64(m_segment->size());
    m_header = reinterpret_cast<Header *>(m_memory);
    m_log = std::make_unique<EventLog>(m_memory, m_header);
    m_processes = std::make_unique<ProcessTable>(m_memory, m_header);

    if (m_header->destroyed.load(std::memory_order_acquire)) {
        close();
        return error->set(Error::PoolDestroyed, QStringLiteral("pool '%1' is being removed").arg(m_name));
    }
    if (m_options.openMode != SharedMemoryPool::CreateOnly && m_options.size != 0
        && qint64(m_size) != m_options.size) {
        qCDebug(lcPool, "pool %s exists with %llu bytes; the requested %lld bytes are ignored",
                qPrintable(m_name), m_size, m_options.size);
    }

    if (!doorbellName.isNull()) {
        // close() unmaps the header, so it runs only after the guard has released the lock.
        // A guard destroyed after close() would touch the unmapped header, and a process that
        // died with the lock of an unmapped segment would leave it held for good.
        bool locked = false;
        {
            WriteLock guard(this, error);
            locked = guard.isLocked();
            if (locked) {
                m_processes->reclaimDead();
                m_attachCursor = m_log->endCursor();
                quint64 previousStats = 0;
                m_slot = m_processes->claim(doorbellName, &previousStats);
                if (m_slot >= 0) {
                    attachStatsBlockLocked(previousStats);
                }
            }
        }
        if (!locked) {
            close();
            return false;
        }
        if (m_slot < 0) {
            const quint32 slots = m_header->processSlots;
            close();
            return error->set(Error::ResourceError,
                              QStringLiteral("pool '%1' has all %2 attachment slots in use; create "
                                             "it with a larger maxAttachments")
                                      .arg(m_name)
                                      .arg(slots));
        }
    }
    return true;
}

void Pool::attachStatsBlockLocked(quint64 previousStats)
{
    Allocator allocator(m_memory, m_size, m_header);
    if (previousStats != 0 && allocator.isAllocatedBlock(previousStats)
        && reinterpret_cast<const BlockHeader *>(m_memory + previousStats)->kind == KindStats) {
        allocator.release(previousStats);
    }
    // Stats blocks of all slots together may take at most half the heap, so that small pools
    // keep their room for values.
    const quint64 share = m_header->heapSize / 2 / m_header->processSlots;
    const quint64 fitting = share > sizeof(StatsBlockHeader)
            ? (share - sizeof(StatsBlockHeader)) / sizeof(StatsRecord)
            : 0;
    const quint32 records = quint32(qMin<quint64>(qBound(0, m_options.statsRecords, 4096), fitting));
    if (records == 0) {
        return;
    }
    const quint64 block = allocator.allocate(statsBlockSize(records), KindStats);
    if (block == 0) {
        qCInfo(lcPool, "pool %s: no heap room for a stats block of %u records; this process "
                       "runs without figures", qPrintable(m_name), records);
        return;
    }
    auto *stats = reinterpret_cast<StatsBlockHeader *>(m_memory + block + sizeof(BlockHeader));
    std::memset(static_cast<void *>(stats), 0, statsBlockSize(records));
    stats->magic = StatsMagic;
    stats->capacity = records;
    m_processes->slot(quint32(m_slot))->statsOffset.store(block, std::memory_order_release);
    m_stats = std::make_unique<StatsWriter>(stats);
}

std::vector<quint64> Pool::statsBlocksLocked() const
{
    std::vector<quint64> blocks;
    for (quint32 i = 0; i < m_processes->size(); ++i) {
        quint32 records = 0;
        if (m_processes->slot(i)->state.load(std::memory_order_relaxed) != SlotFree
            && statsBlock(i, &records)) {
            blocks.push_back(m_processes->slot(i)->statsOffset.load(std::memory_order_relaxed));
        }
    }
    std::sort(blocks.begin(), blocks.end());
    return blocks;
}

const StatsBlockHeader *Pool::statsBlock(quint32 slotIndex, quint32 *validRecords) const
{
    *validRecords = 0;
    if (!m_header || slotIndex >= m_header->processSlots) {
        return nullptr;
    }
    const quint64 offset = m_processes->slot(slotIndex)->statsOffset.load(std::memory_order_acquire);
    const quint64 heapEnd = m_header->heapOffset + m_header->heapSize;
    if (offset < m_header->heapOffset || offset % Alignment != 0
        || offset + sizeof(BlockHeader) + sizeof(StatsBlockHeader) > heapEnd) {
        return nullptr;
    }
    const auto *block = reinterpret_cast<const BlockHeader *>(m_memory + offset);
    const auto *stats = reinterpret_cast<const StatsBlockHeader *>(block + 1);
    if (block->tag != BlockAllocated || block->kind != KindStats || stats->magic != StatsMagic
        || sizeof(BlockHeader) + statsBlockSize(stats->capacity) > block->size
        || block->size > heapEnd - offset) {
        return nullptr;
    }
    *validRecords = qMin(stats->count.load(std::memory_order_acquire), stats->capacity);
    return stats;
}

void Pool::close()
{
    if (m_header && m_slot >= 0) {
        // The slot is released without the lock too, because it belongs to this object alone,
        // so a lock held by a stopped process delays closing by at most this bound.
        constexpr int CloseLockTimeoutMs = 100;
        PoolError ignored;
        WriteLock guard(this, &ignored, CloseLockTimeoutMs);
        m_processes->release(quint32(m_slot));
    }
    m_slot = -1;
    m_stats.reset();
    m_log.reset();
    m_processes.reset();
    m_header = nullptr;
    m_memory = nullptr;
    m_size = 0;
    m_segment.reset();
}

bool Pool::lock(PoolError *error, int timeoutMs)
{
    if (timeoutMs < 0) {
        timeoutMs = m_options.lockTimeoutMs;
    }
    if (!m_header) {
        return error->set(Error::NotAttached, QStringLiteral("pool '%1' is not attached").arg(m_name));
    }
    RobustMutex mutex(&m_header->lock);
    int code = 0;
    switch (mutex.lock(timeoutMs, &code)) {
    case RobustMutex::Locked:
        return true;
    case RobustMutex::OwnerDied:
        qCWarning(lcPool, "pool %s: a process died while writing; repairing the pool",
                  qPrintable(m_name));
        recoverLocked();
        // The dead writer may have changed a value without logging it. Listeners cannot learn
        // which one, but a skipped sequence number makes each of them report one missed
        // record with its next read, so they know to read the pool again.
        m_log->skipSequence();
        mutex.markConsistent();
        return true;
    case RobustMutex::TimedOut:
        return error->set(Error::LockTimeout,
                          QStringLiteral("timed out after %1 ms waiting for the lock of pool '%2'; "
                                         "a process holds it without progress (stopped?)")
                                  .arg(timeoutMs)
                                  .arg(m_name));
    case RobustMutex::Failed:
        break;
    }
    return error->set(Error::UnknownError, QStringLiteral("cannot lock pool '%1': %2")
                                                   .arg(m_name, QString::fromLocal8Bit(std::strerror(code))));
}

void Pool::unlock()
{
    RobustMutex(&m_header->lock).unlock();
}

std::optional<QByteArray> Pool::encodeKey(const QString &key, PoolError *error)
{
    if (!key.isValidUtf16()) {
        qsizetype position = 0;
        while (position < key.size()) {
            const QChar c = key.at(position);
            if (c.isHighSurrogate() && position + 1 < key.size() && key.at(position + 1).isLowSurrogate()) {
                position += 2;
            } else if (c.isSurrogate()) {
                break;
            } else {
                ++position;
            }
        }
        error->set(Error::InvalidKey, QStringLiteral("key of %1 UTF-16 units has an unpaired "
                                                     "surrogate at index %2; keys must be valid "
                                                     "Unicode")
                                              .arg(key.size())
                                              .arg(position));
        return std::nullopt;
    }
    return key.toUtf8();
}

bool Pool::checkKey(QByteArrayView key, PoolError *error)
{
    if (key.isEmpty()) {
        return error->set(Error::InvalidKey, QStringLiteral("key is empty"));
    }
    if (key.size() > MaxKeyBytes) {
        // Cut the preview at a character boundary: UTF-8 continuation bytes are 10xxxxxx.
        qsizetype preview = 32;
        while (preview > 0 && (quint8(key[preview]) & 0xC0) == 0x80) {
            --preview;
        }
        return error->set(Error::InvalidKey, QStringLiteral("key '%1…' is %2 bytes of UTF-8; the "
                                                            "maximum is %3")
                                                     .arg(QString::fromUtf8(key.first(preview)))
                                                     .arg(key.size())
                                                     .arg(MaxKeyBytes));
    }
    return true;
}

bool Pool::entryAt(quint64 offset, Entry *entry, const char **payload) const
{
    // Called without the lock: the entry header is copied once and checked, and only the copy
    // is used, so a writer changing the block meanwhile cannot move a read out of bounds. The
    // caller's seqlock check discards what was read in that case.
    const quint64 heapEnd = m_header->heapOffset + m_header->heapSize;
    if (offset < m_header->heapOffset || offset % Alignment != 0
        || offset + sizeof(BlockHeader) + sizeof(Entry) > heapEnd) {
        return false;
    }
    BlockHeader block;
    std::memcpy(&block, m_memory + offset, sizeof block);
    if (block.tag != BlockAllocated || block.size > heapEnd - offset) {
        return false;
    }
    std::memcpy(entry, m_memory + offset + sizeof(BlockHeader), sizeof *entry);
    const quint64 needed = sizeof(BlockHeader) + sizeof(Entry) + quint64(entry->keyLength)
            + entry->valueLength;
    if (entry->keyLength > quint32(MaxKeyBytes) || needed > block.size) {
        return false;
    }
    *payload = reinterpret_cast<const char *>(m_memory + offset + sizeof(BlockHeader) + sizeof(Entry));
    return true;
}

Pool::Lookup Pool::findLocked(const KeyIndex &index, QByteArrayView key, quint64 hash) const
{
    Lookup lookup;
    quint32 i = index.firstSlotFor(hash);
    for (quint32 probes = 0; probes < index.capacity(); ++probes, i = index.nextSlot(i)) {
        const quint64 slot = index.at(i).load(std::memory_order_relaxed);
        if (slot == KeyIndex::Empty) {
            if (!lookup.haveFreeSlot) {
                lookup.haveFreeSlot = true;
                lookup.freeSlot = i;
            }
            return lookup;
        }
        if (slot == KeyIndex::Tombstone) {
            if (!lookup.haveFreeSlot) {
                lookup.haveFreeSlot = true;
                lookup.freeSlot = i;
            }
            continue;
        }
        Entry entry;
        const char *payload = nullptr;
        if (KeyIndex::slotMatchesHash(slot, hash)
            && entryAt(KeyIndex::slotOffset(slot), &entry, &payload) && entry.hash == hash
            && entry.keyLength == quint32(key.size())
            && std::memcmp(payload, key.data(), size_t(key.size())) == 0) {
            lookup.slot = i;
            lookup.entry = KeyIndex::slotOffset(slot);
            return lookup;
        }
    }
    return lookup;
}

qint64 Pool::maxValueSize(qsizetype keyLength) const
{
    if (!m_header) {
        return 0;
    }
    Allocator allocator(m_memory, m_size, m_header);
    const quint64 heapLimit = allocator.maxPayload() - sizeof(Entry) - quint64(keyLength);
    return qint64(qMin(heapLimit, m_log->maxValueLength(keyLength)));
}

qint64 Pool::segmentSize() const
{
    return qint64(m_size);
}

QString Pool::fullMessage(quint64 needed) const
{
    const quint64 used = m_header->allocator.usedBytes;
    return QStringLiteral("pool '%1' is full: %2 of %3 heap bytes used, %4 keys; the value needs "
                          "a %5-byte block; remove keys or create the pool with a larger size")
            .arg(m_name)
            .arg(used)
            .arg(m_header->heapSize)
            .arg(m_header->entryCount.load(std::memory_order_relaxed))
            .arg(needed);
}

bool Pool::checkWrite(QByteArrayView name, const EncodedValue &value, const char *what,
                      PoolError *error) const
{
    if (!m_header) {
        return error->set(Error::NotAttached, QStringLiteral("pool '%1' is not attached").arg(m_name));
    }
    const qint64 limit = maxValueSize(name.size());
    if (value.bytes.size() > limit) {
        return error->set(Error::ValueTooLarge,
                          QStringLiteral("value of %1 '%2' is %3 bytes encoded; the maximum in "
                                         "pool '%4' is %5 bytes")
                                  .arg(QLatin1String(what), QString::fromUtf8(name))
                                  .arg(value.bytes.size())
                                  .arg(m_name)
                                  .arg(limit));
    }
    return true;
}

bool Pool::set(QByteArrayView key, const EncodedValue &value, qint64 expiresMs, PoolError *error)
{
    if (!checkKey(key, error) || !checkWrite(key, value, "key", error)) {
        return false;
    }

    WriteLock guard(this, error);
    if (!guard.isLocked()) {
        return false;
    }
    if (!insertLocked(key, value, expiresMs, error)) {
        return false;
    }
    m_log->append(RecordValueChanged, key, value.bytes, value.encoding, m_pid);
    m_header->changeCount.store(m_header->changeCount.load(std::memory_order_relaxed) + 1,
                                std::memory_order_relaxed);
    return true;
}

bool Pool::publishEvent(QByteArrayView name, const EncodedValue &value, qint64 expiresMs,
                        qint64 *sentNs, PoolError *error)
{
    if (name.isEmpty() || name.size() > MaxKeyBytes) {
        return error->set(Error::InvalidKey, QStringLiteral("event name is empty or longer than "
                                                            "%1 bytes of UTF-8")
                                                     .arg(MaxKeyBytes));
    }
    if (!checkWrite(name, value, "event", error)) {
        return false;
    }

    WriteLock guard(this, error);
    if (!guard.isLocked()) {
        return false;
    }
    if (expiresMs != 0) {
        if (!insertLocked(name, value, expiresMs, error)) {
            return false;
        }
        // The stored value is a change like any set(), so change listeners hear of it.
        m_log->append(RecordValueChanged, name, value.bytes, value.encoding, m_pid);
    }
    m_log->append(RecordEvent, name, value.bytes, value.encoding, m_pid, sentNs);
    return true;
}

bool Pool::insertLocked(QByteArrayView key, const EncodedValue &value, qint64 expiresMs,
                        PoolError *error)
{
    const quint64 hash = KeyIndex::hashKey(key);
    Allocator allocator(m_memory, m_size, m_header);
    if (m_header->entryCount.load(std::memory_order_relaxed) + m_header->tombstones.load(std::memory_order_relaxed)
        >= quint64(m_header->indexCapacity) * 3 / 4) {
        compactIndexLocked();
    }
    KeyIndex index(m_memory, m_header, m_header->activeIndex.load(std::memory_order_relaxed));
    Lookup lookup = findLocked(index, key, hash);

    if (lookup.entry == 0 && m_header->entryCount.load(std::memory_order_relaxed) >= m_header->maxEntries) {
        if (removeExpiredLocked() > 0) {
            index = KeyIndex(m_memory, m_header, m_header->activeIndex.load(std::memory_order_relaxed));
            lookup = findLocked(index, key, hash);
        }
        if (m_header->entryCount.load(std::memory_order_relaxed) >= m_header->maxEntries) {
            return error->set(Error::PoolFull,
                              QStringLiteral("pool '%1' is full: all %2 keys are in use; remove "
                                             "keys or create the pool with a larger maxEntries")
                                      .arg(m_name)
                                      .arg(m_header->maxEntries));
        }
    }
    if (lookup.entry == 0 && !lookup.haveFreeSlot) {
        return error->set(Error::PoolFull, QStringLiteral("key index of pool '%1' has no free slot")
                                                   .arg(m_name));
    }

    const quint64 payload = sizeof(Entry) + quint64(key.size()) + quint64(value.bytes.size());
    quint64 block = allocator.allocate(payload, KindEntry);
    if (allocator.isDamaged()) {
        qCCritical(lcPool, "pool %s: the heap's free lists are damaged; rebuilding them",
                   qPrintable(m_name));
        recoverLocked();
        allocator = Allocator(m_memory, m_size, m_header);
        index = KeyIndex(m_memory, m_header, m_header->activeIndex.load(std::memory_order_relaxed));
        lookup = findLocked(index, key, hash);
        block = allocator.allocate(payload, KindEntry);
    }
    if (block == 0 && removeExpiredLocked() > 0) {
        index = KeyIndex(m_memory, m_header, m_header->activeIndex.load(std::memory_order_relaxed));
        lookup = findLocked(index, key, hash);
        block = allocator.allocate(payload, KindEntry);
    }
    if (block == 0) {
        return error->set(Error::PoolFull, fullMessage(Allocator::blockSizeFor(payload)));
    }

    auto *entry = reinterpret_cast<Entry *>(m_memory + block + sizeof(BlockHeader));
    entry->hash = hash;
    entry->keyLength = quint32(key.size());
    entry->valueLength = quint32(value.bytes.size());
    entry->encoding = value.encoding;
    entry->writerPid = m_pid;
    entry->expiresMs = expiresMs;
    entry->updatedMs = coarseWallClockMs();
    entry->version = m_header->changeCount.load(std::memory_order_relaxed) + 1;
    auto *bytes = reinterpret_cast<char *>(entry + 1);
    std::memcpy(bytes, key.data(), size_t(key.size()));
    if (!value.bytes.isEmpty()) {
        std::memcpy(bytes + key.size(), value.bytes.constData(), size_t(value.bytes.size()));
    }

    // Publishing is one store. A writer killed before it leaves the old value and one killed
    // after it the new value, and the next recovery reclaims the block no slot references.
    const quint32 target = lookup.entry ? lookup.slot : lookup.freeSlot;
    const quint64 previous = index.at(target).load(std::memory_order_relaxed);
    index.at(target).store(KeyIndex::makeSlot(hash, block), std::memory_order_release);
    if (expiresMs != 0) {
        m_header->ttlEntries.fetch_add(1, std::memory_order_relaxed);
    }
    if (lookup.entry != 0) {
        const Entry *old = reinterpret_cast<const Entry *>(m_memory + lookup.entry + sizeof(BlockHeader));
        if (old->expiresMs != 0) {
            m_header->ttlEntries.fetch_sub(1, std::memory_order_relaxed);
        }
        allocator.release(lookup.entry);
    } else {
        if (previous == KeyIndex::Tombstone) {
            m_header->tombstones.fetch_sub(1, std::memory_order_relaxed);
        }
        m_header->entryCount.fetch_add(1, std::memory_order_relaxed);
    }
    return true;
}

void Pool::retractLocked(const KeyIndex &index, quint32 slot, quint64 entry)
{
    // A slot followed by an empty one ends every probe chain through it, so it can become
    // empty instead of a tombstone.
    const bool nextEmpty = index.at(index.nextSlot(slot)).load(std::memory_order_relaxed) == KeyIndex::Empty;
    index.at(slot).store(nextEmpty ? KeyIndex::Empty : KeyIndex::Tombstone, std::memory_order_release);
    if (!nextEmpty) {
        m_header->tombstones.fetch_add(1, std::memory_order_relaxed);
    }
    const Entry *old = reinterpret_cast<const Entry *>(m_memory + entry + sizeof(BlockHeader));
    if (old->expiresMs != 0) {
        m_header->ttlEntries.fetch_sub(1, std::memory_order_relaxed);
    }
    m_header->entryCount.fetch_sub(1, std::memory_order_relaxed);
    Allocator(m_memory, m_size, m_header).release(entry);
}

void Pool::compactIndexLocked()
{
    const quint32 active = m_header->activeIndex.load(std::memory_order_relaxed) & 1;
    const quint32 idle = active ^ 1;
    KeyIndex from(m_memory, m_header, active);
    KeyIndex to(m_memory, m_header, idle);

    m_header->journalOp.store(JournalCompact, std::memory_order_relaxed);
    std::memset(m_memory + m_header->indexOffset[idle], 0, quint64(m_header->indexCapacity) * 8);
    for (quint32 i = 0; i < from.capacity(); ++i) {
        const quint64 slot = from.at(i).load(std::memory_order_relaxed);
        if (!KeyIndex::isEntry(slot)) {
            continue;
        }
        Entry entry;
        const char *payload = nullptr;
        if (!entryAt(KeyIndex::slotOffset(slot), &entry, &payload)) {
            continue;
        }
        quint32 j = to.firstSlotFor(entry.hash);
        while (to.at(j).load(std::memory_order_relaxed) != KeyIndex::Empty) {
            j = to.nextSlot(j);
        }
        to.at(j).store(slot, std::memory_order_relaxed);
    }
    // The switch is the commit point; a writer killed before it leaves the old index active.
    m_header->activeIndex.store(idle, std::memory_order_release);
    m_header->tombstones.store(0, std::memory_order_relaxed);
    m_header->journalOp.store(JournalIdle, std::memory_order_relaxed);
}

std::optional<EncodedValue> Pool::get(QByteArrayView key, PoolError *error) const
{
    if (!checkKey(key, error)) {
        return std::nullopt;
    }
    if (!m_header) {
        error->set(Error::NotAttached, QStringLiteral("pool '%1' is not attached").arg(m_name));
        return std::nullopt;
    }
    const quint64 hash = KeyIndex::hashKey(key);

    auto lookup = [&](bool *found, EncodedValue *out, qint64 *expiresMs) {
        const quint32 active = m_header->activeIndex.load(std::memory_order_acquire) & 1;
        const KeyIndex index(m_memory, m_header, active);
        const Lookup result = findLocked(index, key, hash);
        Entry entry;
        const char *payload = nullptr;
        *found = result.entry != 0 && entryAt(result.entry, &entry, &payload);
        if (*found) {
            *expiresMs = entry.expiresMs;
            out->encoding = entry.encoding;
            out->bytes = QByteArray(payload + entry.keyLength, entry.valueLength);
        }
    };

    bool found = false;
    EncodedValue value;
    qint64 expiresMs = 0;
    bool consistent = false;
    for (int attempt = 0; attempt < OptimisticAttempts && !consistent; ++attempt) {
        const quint64 before = m_header->writeSequence.load(std::memory_order_acquire);
        if (before & 1) {
            if (attempt > 8) {
                QThread::yieldCurrentThread();
            } else {
                cpuRelax();
            }
            continue;
        }
        lookup(&found, &value, &expiresMs);
        std::atomic_thread_fence(std::memory_order_acquire);
        consistent = m_header->writeSequence.load(std::memory_order_relaxed) == before;
    }
    if (!consistent) {
        WriteLock guard(this, error);
        if (!guard.isLocked()) {
            return std::nullopt;
        }
        lookup(&found, &value, &expiresMs);
    }
    if (!found || (expiresMs != 0 && wallClockMs() >= expiresMs)) {
        return std::nullopt;
    }
    return value;
}

bool Pool::remove(QByteArrayView key, bool *existed, PoolError *error)
{
    *existed = false;
    if (!checkKey(key, error)) {
        return false;
    }
    WriteLock guard(this, error);
    if (!guard.isLocked()) {
        return false;
    }
    const quint64 hash = KeyIndex::hashKey(key);
    const KeyIndex index(m_memory, m_header, m_header->activeIndex.load(std::memory_order_relaxed));
    const Lookup lookup = findLocked(index, key, hash);
    if (lookup.entry == 0) {
        return true;
    }
    const auto *entry = reinterpret_cast<const Entry *>(m_memory + lookup.entry + sizeof(BlockHeader));
    *existed = entry->expiresMs == 0 || wallClockMs() < entry->expiresMs;
    retractLocked(index, lookup.slot, lookup.entry);
    m_log->append(RecordValueRemoved, key, {}, 0, m_pid);
    m_header->changeCount.store(m_header->changeCount.load(std::memory_order_relaxed) + 1,
                                std::memory_order_relaxed);
    return true;
}

std::optional<QList<QByteArray>> Pool::keys(PoolError *error) const
{
    if (!m_header) {
        error->set(Error::NotAttached, QStringLiteral("pool '%1' is not attached").arg(m_name));
        return std::nullopt;
    }
    auto collect = [this]() {
        QList<QByteArray> result;
        const qint64 now = wallClockMs();
        const KeyIndex index(m_memory, m_header, m_header->activeIndex.load(std::memory_order_acquire));
        for (quint32 i = 0; i < index.capacity(); ++i) {
            const quint64 slot = index.at(i).load(std::memory_order_acquire);
            Entry entry;
            const char *payload = nullptr;
            if (KeyIndex::isEntry(slot) && entryAt(KeyIndex::slotOffset(slot), &entry, &payload)
                && (entry.expiresMs == 0 || now < entry.expiresMs)) {
                result.append(QByteArray(payload, entry.keyLength));
            }
        }
        return result;
    };
    for (int attempt = 0; attempt < 4; ++attempt) {
        const quint64 before = m_header->writeSequence.load(std::memory_order_acquire);
        if (before & 1) {
            QThread::yieldCurrentThread();
            continue;
        }
        QList<QByteArray> result = collect();
        std::atomic_thread_fence(std::memory_order_acquire);
        if (m_header->writeSequence.load(std::memory_order_relaxed) == before) {
            return result;
        }
    }
    WriteLock guard(this, error);
    if (!guard.isLocked()) {
        return std::nullopt;
    }
    return collect();
}

bool Pool::clear(PoolError *error)
{
    WriteLock guard(this, error);
    if (!guard.isLocked()) {
        return false;
    }
    // Rolled forward by recovery if this writer dies half-way.
    m_header->journalOp.store(JournalClear, std::memory_order_relaxed);
    const KeyIndex index(m_memory, m_header, m_header->activeIndex.load(std::memory_order_relaxed));
    for (quint32 i = 0; i < index.capacity(); ++i) {
        index.at(i).store(KeyIndex::Empty, std::memory_order_relaxed);
    }
    Allocator(m_memory, m_size, m_header).reset(statsBlocksLocked());
    m_header->entryCount.store(0, std::memory_order_relaxed);
    m_header->tombstones.store(0, std::memory_order_relaxed);
    m_header->ttlEntries.store(0, std::memory_order_relaxed);
    m_header->journalOp.store(JournalIdle, std::memory_order_release);
    m_log->append(RecordCleared, {}, {}, 0, m_pid);
    m_header->changeCount.store(m_header->changeCount.load(std::memory_order_relaxed) + 1,
                                std::memory_order_relaxed);
    return true;
}

int Pool::removeExpiredLocked()
{
    if (m_header->ttlEntries.load(std::memory_order_relaxed) == 0) {
        return 0;
    }
    const qint64 now = wallClockMs();
    const KeyIndex index(m_memory, m_header, m_header->activeIndex.load(std::memory_order_relaxed));
    int removed = 0;
    for (quint32 i = 0; i < index.capacity(); ++i) {
        const quint64 slot = index.at(i).load(std::memory_order_relaxed);
        Entry entry;
        const char *payload = nullptr;
        if (!KeyIndex::isEntry(slot) || !entryAt(KeyIndex::slotOffset(slot), &entry, &payload)
            || entry.expiresMs == 0 || now < entry.expiresMs) {
            continue;
        }
        const QByteArray key(payload, entry.keyLength);
        retractLocked(index, i, KeyIndex::slotOffset(slot));
        m_log->append(RecordValueRemoved, key, {}, 0, m_pid);
        ++removed;
    }
    if (removed > 0) {
        m_header->changeCount.store(m_header->changeCount.load(std::memory_order_relaxed) + 1,
                                std::memory_order_relaxed);
    }
    return removed;
}

int Pool::removeExpired(PoolError *error, int lockTimeoutMs)
{
    WriteLock guard(this, error, lockTimeoutMs);
    if (!guard.isLocked()) {
        return -1;
    }
    return removeExpiredLocked();
}

bool Pool::hasExpiringEntries() const
{
    return m_header && m_header->ttlEntries.load(std::memory_order_relaxed) != 0;
}

void Pool::recoverLocked()
{
    const bool clearInterrupted = m_header->journalOp.load(std::memory_order_relaxed) == JournalClear;
    if (clearInterrupted) {
        const KeyIndex index(m_memory, m_header, m_header->activeIndex.load(std::memory_order_relaxed));
        for (quint32 i = 0; i < index.capacity(); ++i) {
            index.at(i).store(KeyIndex::Empty, std::memory_order_relaxed);
        }
    }
    m_header->journalOp.store(JournalIdle, std::memory_order_relaxed);
    m_header->activeIndex.store(m_header->activeIndex.load(std::memory_order_relaxed) & 1,
                                std::memory_order_relaxed);

    // Every block that the index references survives; all other heap bytes, including blocks
    // allocated but never published and blocks released half-way, become free again.
    Allocator allocator(m_memory, m_size, m_header);
    const KeyIndex index(m_memory, m_header, m_header->activeIndex.load(std::memory_order_relaxed));
    struct LiveBlock
    {
        quint64 offset;
        qint64 indexSlot;   // -1 for a stats block
        qint64 processSlot; // owner of a stats block, -1 for an entry
        bool operator<(const LiveBlock &other) const { return offset < other.offset; }
    };
    std::vector<LiveBlock> live;
    quint64 tombstones = 0;
    quint64 ttlEntries = 0;
    for (quint32 i = 0; i < index.capacity(); ++i) {
        const quint64 slot = index.at(i).load(std::memory_order_relaxed);
        if (slot == KeyIndex::Tombstone) {
            ++tombstones;
            continue;
        }
        if (!KeyIndex::isEntry(slot)) {
            continue;
        }
        const quint64 offset = KeyIndex::slotOffset(slot);
        Entry entry;
        const char *payload = nullptr;
        if (!allocator.isAllocatedBlock(offset) || !entryAt(offset, &entry, &payload)
            || entry.hash != KeyIndex::hashKey(QByteArrayView(payload, entry.keyLength))) {
            qCCritical(lcPool, "pool %s: index slot %u references a damaged entry; dropping it",
                       qPrintable(m_name), i);
            index.at(i).store(KeyIndex::Tombstone, std::memory_order_relaxed);
            ++tombstones;
            continue;
        }
        ttlEntries += entry.expiresMs != 0;
        live.push_back({offset, qint64(i), -1});
    }
    // Stats blocks of active and exited slots survive too.
    for (quint32 i = 0; i < m_processes->size(); ++i) {
        ProcessSlot *slot = m_processes->slot(i);
        const quint64 offset = slot->statsOffset.load(std::memory_order_relaxed);
        if (slot->state.load(std::memory_order_relaxed) == SlotFree || offset == 0) {
            continue;
        }
        if (!allocator.isAllocatedBlock(offset)
            || reinterpret_cast<const BlockHeader *>(m_memory + offset)->kind != KindStats) {
            slot->statsOffset.store(0, std::memory_order_relaxed);
            continue;
        }
        live.push_back({offset, -1, qint64(i)});
    }
    std::sort(live.begin(), live.end());
    std::vector<quint64> blocks;
    blocks.reserve(live.size());
    quint64 end = 0;
    quint64 entries = 0;
    for (const LiveBlock &block : live) {
        const quint64 offset = block.offset;
        const bool isStats = block.processSlot >= 0;
        if (offset < end) {
            qCCritical(lcPool, "pool %s: blocks overlap at offset %llu; dropping one",
                       qPrintable(m_name), offset);
            if (isStats) {
                m_processes->slot(quint32(block.processSlot))->statsOffset.store(0, std::memory_order_relaxed);
                continue;
            }
            index.at(quint32(block.indexSlot)).store(KeyIndex::Tombstone, std::memory_order_relaxed);
            ++tombstones;
            if (reinterpret_cast<const Entry *>(m_memory + offset + sizeof(BlockHeader))->expiresMs) {
                --ttlEntries;
            }
            continue;
        }
        blocks.push_back(offset);
        entries += isStats ? 0 : 1;
        end = offset + allocator.blockSize(offset);
    }
    allocator.reset(blocks);
    m_header->entryCount.store(entries, std::memory_order_relaxed);
    m_header->tombstones.store(tombstones, std::memory_order_relaxed);
    m_header->ttlEntries.store(ttlEntries, std::memory_order_relaxed);
    m_header->recoveries.fetch_add(1, std::memory_order_relaxed);

    // The dead writer may have left the sequence odd; make it even so that the WriteLock's
    // own increments keep their meaning.
    if (m_header->writeSequence.load(std::memory_order_relaxed) & 1) {
        m_header->writeSequence.fetch_add(1, std::memory_order_relaxed);
    }
    // The dead clearer did not get to tell the listeners; the clear is finished, so tell them.
    if (clearInterrupted) {
        m_log->append(RecordCleared, {}, {}, 0, m_pid);
    }
}

PoolStats Pool::stats() const
{
    PoolStats stats;
    if (!m_header) {
        return stats;
    }
    stats.name = m_name;
    stats.path = m_segment->location();
    stats.backing = m_segment->backingName();
    stats.totalSize = qint64(m_size);
    stats.heapSize = qint64(m_header->heapSize);
    stats.maxEntries = m_header->maxEntries;
    stats.maxKeyLength = MaxKeyBytes;
    stats.maxValueSize = maxValueSize(1); // keys have at least one byte
    stats.maxAttachments = m_header->processSlots;
    stats.eventLogSize = qint64(m_header->logSize);
    stats.createdAt = QDateTime::fromMSecsSinceEpoch(m_header->createdMs);

    PoolError ignored;
    WriteLock guard(this, &ignored);
    if (!guard.isLocked()) {
        return stats;
    }
    Allocator allocator(m_memory, m_size, m_header);
    stats.usedBytes = qint64(m_header->allocator.usedBytes);
    stats.freeBytes = qint64(m_header->allocator.freeBytes);
    stats.largestFreeBlock = qint64(allocator.largestFreeBlock());
    for (quint32 i = 0; i < m_processes->size(); ++i) {
        quint32 records = 0;
        if (m_processes->slot(i)->state.load(std::memory_order_relaxed) != SlotFree
            && statsBlock(i, &records)) {
            stats.statsBytes += qint64(allocator.blockSize(
                    m_processes->slot(i)->statsOffset.load(std::memory_order_relaxed)));
        }
    }
    stats.entryCount = qint64(m_header->entryCount.load(std::memory_order_relaxed));
    stats.attachedProcesses = m_processes->activeCount();
    stats.eventSequence = m_header->log.nextSequence.load(std::memory_order_relaxed);
    stats.recoveries = m_header->recoveries.load(std::memory_order_relaxed);
    return stats;
}

bool Pool::destroy(PoolError *error)
{
    {
        WriteLock guard(this, error);
        if (!guard.isLocked()) {
            return false;
        }
        m_header->destroyed.store(1, std::memory_order_release);
    }
    // Wake every listener, asleep or not, so that each notices at once.
    for (quint32 i = 0; i < m_processes->size(); ++i) {
        if (m_processes->slot(i)->state.load(std::memory_order_acquire) == SlotActive) {
            m_processes->ring(i);
        }
    }
    if (!m_segment->remove()) {
        return error->set(Error::ResourceError, m_segment->errorString());
    }
    qCInfo(lcPool, "destroyed pool %s", qPrintable(m_name));
    // The mapping stays until the owner closes: its maintenance task may still read it.
    return true;
}

bool Pool::isDestroyed() const
{
    return m_header && m_header->destroyed.load(std::memory_order_acquire);
}

void Pool::heartbeat()
{
    if (m_header && m_slot >= 0) {
        m_processes->slot(quint32(m_slot))->heartbeatMs.store(wallClockMs(), std::memory_order_relaxed);
    }
}

int Pool::reclaimDeadSlots(int lockTimeoutMs)
{
    PoolError ignored;
    WriteLock guard(this, &ignored, lockTimeoutMs);
    return guard.isLocked() ? m_processes->reclaimDead() : 0;
}

} // namespace mvent
