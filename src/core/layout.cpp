// SPDX-License-Identifier: MIT
#include "layout_p.h"

#include "allocator_p.h"
#include "clock_p.h"

#include <bit>
#include <cstring>

namespace mvent::layout {

namespace {

bool rangeInside(quint64 offset, quint64 length, quint64 begin, quint64 end)
{
    return offset >= begin && offset <= end && length <= end - offset;
}

bool rangesOverlap(quint64 a, quint64 aLength, quint64 b, quint64 bLength)
{
    return a < b + bLength && b < a + aLength;
}

} // namespace

namespace {

// Lays out the regions for totalSize and returns where the heap starts; the caller checks
// that a heap fits behind it.
quint64 placeRegions(quint64 totalSize, quint32 maxEntries, quint32 maxAttachments,
                     quint64 logSize, Geometry *g)
{
    g->totalSize = totalSize;
    g->maxEntries = maxEntries;
    g->processSlots = maxAttachments;
    // Load stays at or below one half with tombstones, which keeps probe chains short.
    g->indexCapacity = std::bit_ceil(quint32(maxEntries) * 2);
    if (logSize == 0) {
        logSize = std::bit_floor(totalSize / 4);
    }
    g->logSize = std::bit_ceil(std::max<quint64>(logSize, MinLogSize));

    quint64 offset = HeaderSize;
    g->processTableOffset = offset;
    offset = alignUp(offset + quint64(g->processSlots) * ProcessSlotSize, 64);
    for (quint64 &indexOffset : g->indexOffset) {
        indexOffset = offset;
        offset = alignUp(offset + quint64(g->indexCapacity) * 8, 64);
    }
    g->logOffset = offset;
    offset = alignUp(offset + g->logSize, 4096);
    g->heapOffset = offset;
    return offset;
}

constexpr quint64 MinHeapSize = 64 * Alignment;

} // namespace

quint64 minimumSegmentSize(quint32 maxEntries, quint32 maxAttachments, quint64 logSize)
{
    // The default log grows with the size, so the smallest size that fits is searched for, in
    // pages. It lies below four thirds of the fixed regions plus the heap, which bounds the loop.
    Geometry g;
    quint64 size = std::max<quint64>(MinSegmentSize,
                                     alignUp(placeRegions(0, maxEntries, maxAttachments,
                                                          std::max<quint64>(logSize, MinLogSize), &g)
                                                     + MinHeapSize,
                                             4096));
    while (placeRegions(size, maxEntries, maxAttachments, logSize, &g) + MinHeapSize > size) {
        size += 4096;
    }
    return size;
}

bool computeGeometry(quint64 totalSize, quint32 maxEntries, quint32 maxAttachments,
                     quint64 logSize, Geometry *geometry, QString *errorMessage)
{
    if (maxEntries < 1 || maxEntries > (1u << 30)) {
        *errorMessage = QStringLiteral("maxEntries %1 is outside 1..%2").arg(maxEntries).arg(1u << 30);
        return false;
    }
    if (maxAttachments < 1 || maxAttachments > quint32(MaxAttachments)) {
        *errorMessage = QStringLiteral("maxAttachments %1 is outside 1..%2")
                                .arg(maxAttachments)
                                .arg(MaxAttachments);
        return false;
    }

    Geometry g;
    const quint64 offset = totalSize < MinSegmentSize
            ? totalSize + 1 // too small whatever the layout
            : placeRegions(totalSize, maxEntries, maxAttachments, logSize, &g);
    if (offset + MinHeapSize > totalSize) {
        *errorMessage = QStringLiteral("pool size %1 bytes is too small for %2 entries, %3 "
                                       "attachments and the event log; the minimum for these "
                                       "options is %4 bytes")
                                .arg(totalSize)
                                .arg(maxEntries)
                                .arg(maxAttachments)
                                .arg(minimumSegmentSize(maxEntries, maxAttachments, logSize));
        return false;
    }
    g.heapSize = (totalSize - offset) & ~(Alignment - 1);
    *geometry = g;
    return true;
}

bool initialiseSegment(uchar *memory, const Geometry &g, const QByteArray &poolName,
                       QString *errorMessage)
{
    auto *header = reinterpret_cast<Header *>(memory);
    header->version = Version;
    header->headerSize = HeaderSize;
    header->totalSize = g.totalSize;
    std::memcpy(header->name, poolName.constData(), qMin<qsizetype>(poolName.size(), MaxNameBytes));
    header->createdMs = wallClockMs();
    header->processTableOffset = g.processTableOffset;
    header->processSlotSize = ProcessSlotSize;
    header->processSlots = g.processSlots;
    header->indexOffset[0] = g.indexOffset[0];
    header->indexOffset[1] = g.indexOffset[1];
    header->indexCapacity = g.indexCapacity;
    header->maxEntries = g.maxEntries;
    header->heapOffset = g.heapOffset;
    header->heapSize = g.heapSize;
    header->logOffset = g.logOffset;
    header->logSize = g.logSize;

    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    const int rc = pthread_mutex_init(&header->lock, &attributes);
    pthread_mutexattr_destroy(&attributes);
    if (rc != 0) {
        *errorMessage = QStringLiteral("cannot initialise the pool lock: %1")
                                .arg(QString::fromLocal8Bit(std::strerror(rc)));
        return false;
    }

    Allocator allocator(memory, g.totalSize, header);
    allocator.reset({});

    // Attaching processes test the magic first, so it is published after everything else.
    std::atomic_thread_fence(std::memory_order_release);
    reinterpret_cast<std::atomic<quint64> *>(&header->magic)->store(Magic, std::memory_order_release);
    return true;
}

ValidationResult validateSegment(const uchar *memory, quint64 size, const QByteArray &expectedName,
                                 QString *errorMessage)
{
    if (size < HeaderSize) {
        *errorMessage = QStringLiteral("segment is truncated: %1 bytes, smaller than its %2-byte "
                                       "header")
                                .arg(size)
                                .arg(HeaderSize);
        return ValidationResult::Truncated;
    }
    Header header;
    std::memcpy(static_cast<void *>(&header), memory, sizeof header);
    if (header.magic != Magic) {
        *errorMessage = QStringLiteral("segment is not an mvent pool (magic 0x%1)")
                                .arg(header.magic, 16, 16, QLatin1Char('0'));
        return ValidationResult::BadMagic;
    }
    if (header.version != Version) {
        *errorMessage = QStringLiteral("pool layout version %1 is not supported by this build "
                                       "(version %2); open it with a matching mvent build")
                                .arg(header.version)
                                .arg(Version);
        return ValidationResult::BadVersion;
    }
    if (header.totalSize != size) {
        *errorMessage = QStringLiteral("segment is %1 bytes but its header records %2 bytes")
                                .arg(size)
                                .arg(header.totalSize);
        return header.totalSize > size ? ValidationResult::Truncated : ValidationResult::Corrupt;
    }
    auto corrupt = [errorMessage](const QString &what) {
        *errorMessage = QStringLiteral("segment header is corrupt: %1").arg(what);
        return ValidationResult::Corrupt;
    };
    if (header.headerSize != HeaderSize) {
        return corrupt(QStringLiteral("header size %1").arg(header.headerSize));
    }
    const QByteArray storedName(header.name, qstrnlen(header.name, sizeof header.name));
    if (storedName.size() > MaxNameBytes || storedName.isEmpty()) {
        return corrupt(QStringLiteral("pool name field"));
    }
    if (!expectedName.isEmpty() && storedName != expectedName) {
        return corrupt(QStringLiteral("it belongs to pool '%1', not '%2'")
                               .arg(QString::fromUtf8(storedName), QString::fromUtf8(expectedName)));
    }
    if (header.processSlotSize != ProcessSlotSize || header.processSlots == 0
        || header.processSlots > quint32(MaxAttachments)) {
        return corrupt(QStringLiteral("process table of %1 slots of %2 bytes")
                               .arg(header.processSlots)
                               .arg(header.processSlotSize));
    }
    if (!std::has_single_bit(header.indexCapacity) || header.maxEntries == 0
        || header.maxEntries > header.indexCapacity) {
        return corrupt(QStringLiteral("index capacity %1 for %2 entries")
                               .arg(header.indexCapacity)
                               .arg(header.maxEntries));
    }
    if (!std::has_single_bit(header.logSize) || header.logSize < MinLogSize) {
        return corrupt(QStringLiteral("event log size %1").arg(header.logSize));
    }
    if (header.heapSize < 64 * Alignment || header.heapOffset % Alignment != 0
        || header.heapSize % Alignment != 0) {
        return corrupt(QStringLiteral("heap of %1 bytes at %2").arg(header.heapSize).arg(header.heapOffset));
    }

    struct Region
    {
        const char *name;
        quint64 offset;
        quint64 length;
    };
    const Region regions[] = {
        {"process table", header.processTableOffset, quint64(header.processSlots) * ProcessSlotSize},
        {"index A", header.indexOffset[0], quint64(header.indexCapacity) * 8},
        {"index B", header.indexOffset[1], quint64(header.indexCapacity) * 8},
        {"event log", header.logOffset, header.logSize},
        {"heap", header.heapOffset, header.heapSize},
    };
    for (const Region &region : regions) {
        if (region.offset % 8 != 0 || !rangeInside(region.offset, region.length, HeaderSize, size)) {
            return corrupt(QStringLiteral("%1 at offset %2 with %3 bytes lies outside the segment")
                                   .arg(QLatin1String(region.name))
                                   .arg(region.offset)
                                   .arg(region.length));
        }
    }
    for (const Region &a : regions) {
        for (const Region &b : regions) {
            if (&a < &b && rangesOverlap(a.offset, a.length, b.offset, b.length)) {
                return corrupt(QStringLiteral("%1 overlaps %2")
                                       .arg(QLatin1String(a.name), QLatin1String(b.name)));
            }
        }
    }
    // Read from the live segment, tail first: a writer may be appending, and tail <= head holds
    // only for values read in that order.
    const auto *live = reinterpret_cast<const Header *>(memory);
    const quint64 tail = live->log.tail.load(std::memory_order_acquire);
    const quint64 head = live->log.head.load(std::memory_order_acquire);
    if (tail > head || tail % 8 != 0 || head % 8 != 0) {
        return corrupt(QStringLiteral("event log positions: tail %1, head %2").arg(tail).arg(head));
    }
    if (header.activeIndex.load(std::memory_order_relaxed) > 1) {
        return corrupt(QStringLiteral("active index %1").arg(header.activeIndex.load()));
    }
    return ValidationResult::Valid;
}

} // namespace mvent::layout
