// SPDX-License-Identifier: MIT
#pragma once

// The byte layout of a pool segment. Every process maps the segment at its own address, so
// all references inside it are byte offsets from the start of the segment, and every offset
// read from it is checked against the segment size before use.

#include "mvent_core_export.h"

#include <QString>
#include <QtGlobal>

#include <atomic>
#include <pthread.h>

namespace mvent::layout {

constexpr quint64 Magic = 0x314C4F4F50544E56ULL; // "VNTPOOL1" read little-endian
// Raised whenever processes of two versions could not work together on one pool. Version 3
// changed the doorbells from FIFOs to eventfds handed over Unix sockets.
constexpr quint32 Version = 3;
constexpr quint32 HeaderSize = 4096;
constexpr int MaxNameBytes = 64;
constexpr int MaxKeyBytes = 1024;
constexpr quint64 Alignment = 16;     // heap blocks and regions
constexpr quint64 MinSegmentSize = 64 * 1024;
constexpr quint64 MinLogSize = 16 * 1024;
constexpr int MaxAttachments = 4096;

static_assert(std::atomic<quint64>::is_always_lock_free);
static_assert(std::atomic<quint32>::is_always_lock_free);

enum Flag : quint32 {
    FlagEncrypted = 1u << 0,
};

// Operation recorded while a writer holds the lock, so that the next holder can finish or
// undo it if the writer dies. Single-slot updates of the key index need no record because
// they are one atomic store.
enum JournalOp : quint32 {
    JournalIdle = 0,
    JournalClear = 1,   // rolled forward: every index slot is emptied
    JournalCompact = 2, // rolled back: the half-built inactive index is ignored
};

// Free-block bins of the heap allocator: 4 sub-bins per power of two.
constexpr int AllocatorBins = 4 * 48;

struct AllocatorState
{
    quint64 binHead[AllocatorBins]; // offset of the first free block per bin, 0 if empty
    quint64 binBitmap[AllocatorBins / 64];
    quint64 usedBytes;              // bytes in allocated blocks, block headers included
    quint64 freeBytes;
    quint64 allocatedBlocks;
};

// head and tail sit on separate cache lines because readers poll head while the writer moves
// tail on every append once the ring is full.
struct LogState
{
    alignas(64) std::atomic<quint64> head; // byte position one past the newest record
    std::atomic<quint64> nextSequence;     // sequence number of the next appended record
    alignas(64) std::atomic<quint64> tail; // byte position of the oldest readable record
};

struct Header
{
    // Immutable after creation.
    quint64 magic;
    quint32 version;
    quint32 headerSize;
    quint64 totalSize;
    char name[80];                 // NUL-padded UTF-8
    qint64 createdMs;              // wall clock, milliseconds since the epoch
    quint32 flags;
    quint32 reserved0;
    quint8 keyCheckValue[32];
    quint64 processTableOffset;
    quint32 processSlotSize;
    quint32 processSlots;
    quint64 indexOffset[2];        // two index regions; writers compact into the idle one
    quint32 indexCapacity;         // slots per index region, a power of two
    quint32 maxEntries;
    quint64 heapOffset;
    quint64 heapSize;
    quint64 logOffset;
    quint64 logSize;               // a power of two
    quint64 reserved1[8];

    // Set once when the pool is destroyed. It has a cache line of its own because every
    // publish() and every wake-up reads it, while writeSequence below changes with each write.
    alignas(64) std::atomic<quint32> destroyed;

    // Shared state, written under the lock unless atomic.
    alignas(64) pthread_mutex_t lock;
    alignas(64) std::atomic<quint64> writeSequence; // odd while a writer changes the index or heap
    std::atomic<quint32> activeIndex;
    std::atomic<quint32> journalOp;
    std::atomic<quint64> entryCount;
    std::atomic<quint64> tombstones;
    std::atomic<quint64> ttlEntries;
    std::atomic<quint64> recoveries;
    std::atomic<quint64> changeCount; // increases with every committed change
    AllocatorState allocator;
    LogState log;
    // Bit i is set while process slot i may be waiting for a wake-up. Only the slot's owner
    // changes its bit, setting it before it announces and clearing it after it withdraws, so
    // a writer scans only the slots whose bit is set.
    alignas(64) std::atomic<quint64> waitingBits[MaxAttachments / 64];
};

static_assert(sizeof(Header) <= HeaderSize);

// An exited slot keeps its pid and stats block for readers until a new process claims it.
enum SlotState : quint32 { SlotFree = 0, SlotActive = 1, SlotExited = 2 };

enum ListenFlag : quint32 {
    ListenChanges = 1u << 0, // value changed, removed, cleared
    ListenEvents = 1u << 1,  // events whose name passes the slot's eventFilter
};

// One per open SharedMemoryPool object, in any process.
struct ProcessSlot
{
    std::atomic<quint32> state;
    quint32 pid;
    quint64 startTime;              // clock ticks since boot; detects pid reuse
    std::atomic<qint64> heartbeatMs;
    std::atomic<quint32> listening; // ListenFlag bits: which records wake the owner
    std::atomic<quint32> waiting;   // set by the owner before it sleeps, cleared by the waker
    char doorbell[40];              // doorbell name "<pid>-<hex>", NUL-padded; see Doorbell
    char processName[64];
    qint64 attachedMs;
    // One bit per subscribed event name (bit = name hash % 64); all bits for "every event".
    std::atomic<quint64> eventFilter;
    std::atomic<quint64> statsOffset; // block offset of the owner's stats block, 0 if none
    quint64 reserved[8];
};

constexpr quint32 ProcessSlotSize = 256;
static_assert(sizeof(ProcessSlot) <= ProcessSlotSize);

// Every heap block starts with this header; the payload follows at offset 16.
struct BlockHeader
{
    quint32 tag;   // BlockAllocated or BlockFree, mixed with the kind
    quint32 kind;
    quint64 size;  // whole block in bytes, header included, multiple of Alignment
};
static_assert(sizeof(BlockHeader) == Alignment);

constexpr quint32 BlockAllocated = 0xA110CA7E;
constexpr quint32 BlockFree = 0xF3EEB10C;
enum BlockKind : quint32 { KindEntry = 1, KindStats = 2 };

// A stored key/value pair: follows the BlockHeader; the key and then the value follow it.
struct Entry
{
    quint64 hash;
    quint32 keyLength;
    quint32 valueLength;
    quint32 encoding;
    quint32 writerPid;
    qint64 expiresMs;  // wall clock; 0 never expires
    qint64 updatedMs;
    quint64 version;
};

// Figures chosen at creation, derived from the caller's options.
struct Geometry
{
    quint64 totalSize = 0;
    quint32 processSlots = 0;
    quint32 indexCapacity = 0;
    quint32 maxEntries = 0;
    quint64 processTableOffset = 0;
    quint64 indexOffset[2] = {0, 0};
    quint64 heapOffset = 0;
    quint64 heapSize = 0;
    quint64 logOffset = 0;
    quint64 logSize = 0;
};

constexpr quint64 alignUp(quint64 value, quint64 alignment)
{
    return (value + alignment - 1) & ~(alignment - 1);
}

// Returns the smallest segment size, a multiple of 4096, with room for the given entries,
// attachments and log (0: the default log of a quarter of the size) plus a minimal heap.
MVENT_CORE_EXPORT quint64 minimumSegmentSize(quint32 maxEntries, quint32 maxAttachments,
                                             quint64 logSize);
// Computes region offsets for a segment of totalSize bytes. Returns false with a message if
// the size cannot hold the requested entries, attachments and log.
MVENT_CORE_EXPORT bool computeGeometry(quint64 totalSize, quint32 maxEntries,
                                       quint32 maxAttachments, quint64 logSize,
                                       Geometry *geometry, QString *errorMessage);

// Writes a fresh header for geometry into memory (zeroed, at least geometry.totalSize bytes)
// and initialises the lock and regions. The magic is stored last.
MVENT_CORE_EXPORT bool initialiseSegment(uchar *memory, const Geometry &geometry,
                                         const QByteArray &poolName, QString *errorMessage);

enum class ValidationResult { Valid, Truncated, BadMagic, BadVersion, Corrupt };

// Checks a mapped segment of size bytes before any other field is trusted: magic, version,
// sizes, name, and that every region lies inside the segment without overlapping another.
MVENT_CORE_EXPORT ValidationResult validateSegment(const uchar *memory, quint64 size,
                                                   const QByteArray &expectedName,
                                                   QString *errorMessage);

} // namespace mvent::layout
