// SPDX-License-Identifier: MIT
//
// Writes the seed corpus of fuzz_segment_validation: valid segments built with the core's own
// layout code, and copies with one field damaged each, so that the fuzzer starts from inputs
// that pass validateSegment() and reach the event log and key index.
//
// Usage: fuzz_segment_seeds SEED_DIRECTORY [KNOWN_FAILURE_DIRECTORY]
//
// The optional second directory receives inputs that made the core crash or hang in the past.
// They are kept out of the seed corpus while the bug is open, so the short CTest run stays
// meaningful, and move into the seeds once it is fixed.

#include "allocator_p.h"
#include "eventlog_p.h"
#include "keyindex_p.h"
#include "layout_p.h"
#include "valuecodec_p.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QString>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace mvent;
using namespace mvent::layout;

namespace {

// Seeds are small so that each fuzzer run is fast: 64 KiB is the smallest segment that
// computeGeometry() accepts.
constexpr quint64 SeedSegmentSize = MinSegmentSize;
const QByteArray SeedPoolName = QByteArrayLiteral("fuzz-seed");

// Storage with the alignment of a mapped segment, which Header's alignas(64) members need.
class SegmentBuffer
{
public:
    explicit SegmentBuffer(quint64 size)
        : m_size(size)
    {
        m_data = static_cast<uchar *>(std::aligned_alloc(4096, size));
        std::memset(m_data, 0, size);
    }
    ~SegmentBuffer() { std::free(m_data); }
    SegmentBuffer(const SegmentBuffer &) = delete;
    SegmentBuffer &operator=(const SegmentBuffer &) = delete;

    uchar *data() const { return m_data; }
    Header *header() const { return reinterpret_cast<Header *>(m_data); }
    QByteArray bytes() const { return QByteArray(reinterpret_cast<const char *>(m_data), qsizetype(m_size)); }

private:
    uchar *m_data;
    quint64 m_size;
};

bool initialise(SegmentBuffer *segment)
{
    Geometry geometry;
    QString message;
    if (!computeGeometry(SeedSegmentSize, 16, 4, MinLogSize, &geometry, &message)
        || !initialiseSegment(segment->data(), geometry, SeedPoolName, &message)) {
        std::fprintf(stderr, "fuzz_segment_seeds: failed to initialise a segment: %s\n",
                     qPrintable(message));
        return false;
    }
    return true;
}

// Stores key and value as the pool's writer does: an entry block in the heap, one index slot
// in the active region and a change record in the log.
bool insert(SegmentBuffer *segment, const QByteArray &key, const EncodedValue &value)
{
    Header *header = segment->header();
    Allocator allocator(segment->data(), header->totalSize, header);
    const quint64 block = allocator.allocate(sizeof(Entry) + quint64(key.size()) + quint64(value.bytes.size()),
                                             KindEntry);
    if (block == 0) {
        std::fprintf(stderr, "fuzz_segment_seeds: failed to insert '%s': the heap is full\n",
                     key.constData());
        return false;
    }
    const quint64 hash = KeyIndex::hashKey(key);
    auto *entry = reinterpret_cast<Entry *>(segment->data() + block + sizeof(BlockHeader));
    entry->hash = hash;
    entry->keyLength = quint32(key.size());
    entry->valueLength = quint32(value.bytes.size());
    entry->encoding = value.encoding;
    entry->writerPid = 1;
    entry->version = header->changeCount.load() + 1;
    auto *payload = reinterpret_cast<char *>(entry + 1);
    std::memcpy(payload, key.constData(), size_t(key.size()));
    std::memcpy(payload + key.size(), value.bytes.constData(), size_t(value.bytes.size()));

    const KeyIndex index(segment->data(), header, header->activeIndex.load());
    quint32 slot = index.firstSlotFor(hash);
    while (KeyIndex::isEntry(index.at(slot).load())) {
        slot = index.nextSlot(slot);
    }
    index.at(slot).store(KeyIndex::makeSlot(hash, block));
    header->entryCount.fetch_add(1);
    header->changeCount.fetch_add(1);

    EventLog(segment->data(), header).append(RecordValueChanged, key, value.bytes, value.encoding, 1);
    return true;
}

// A segment with raw and CBOR entries and a log that wrapped, so its tail is past zero and
// it contains a padding record.
bool populate(SegmentBuffer *segment)
{
    QString message;
    const EncodedValue text = *ValueCodec::encode(QStringLiteral("a string stored as CBOR"), &message);
    const EncodedValue map = *ValueCodec::encode(QVariantMap{{QStringLiteral("n"), 42}}, &message);
    if (!insert(segment, "alpha", {QByteArray(64, 'a'), EncodingRawBytes})
        || !insert(segment, "beta", text) || !insert(segment, "gamma", map)) {
        return false;
    }
    EventLog log(segment->data(), segment->header());
    log.append(RecordEvent, "tick", QByteArray(8, 't'), EncodingRawBytes, 1);
    log.append(RecordValueRemoved, "delta", {}, 0, 1);
    log.append(RecordCleared, {}, {}, 0, 1);
    for (int i = 0; i < 40; ++i) {
        log.append(RecordEvent, "bulk", QByteArray(500 + i, 'b'), EncodingRawBytes, 1);
    }
    return insert(segment, "epsilon", {QByteArray(4, 'e'), EncodingRawBytes});
}

bool writeSeed(const QDir &directory, const char *name, const QByteArray &bytes)
{
    QFile file(directory.filePath(QString::fromLatin1(name)));
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) || file.write(bytes) != bytes.size()) {
        std::fprintf(stderr, "fuzz_segment_seeds: failed to write %s: %s\n",
                     qPrintable(file.fileName()), qPrintable(file.errorString()));
        return false;
    }
    return true;
}

// Returns a copy of bytes with the little-endian integer of type T at offset replaced.
template<typename T>
QByteArray withField(QByteArray bytes, std::size_t offset, T value)
{
    std::memcpy(bytes.data() + offset, &value, sizeof value);
    return bytes;
}

// Writes the inputs that crashed or hung EventLog::read() when they were found.
bool writeKnownFailures(const QDir &directory, const SegmentBuffer &empty)
{
    const QByteArray base = empty.bytes();
    const Header *header = empty.header();
    const quint64 ringSize = header->logSize;

    // The log is the last region, and its tail is 8 bytes before the end of the ring.
    // read() copies a whole 40-byte RecordHeader at the tail, so it reads 32 bytes past the
    // end of the segment.
    QByteArray logAtEnd = base;
    logAtEnd = withField<quint64>(logAtEnd, offsetof(Header, heapOffset), header->logOffset);
    logAtEnd = withField<quint64>(logAtEnd, offsetof(Header, heapSize), ringSize);
    logAtEnd = withField<quint64>(logAtEnd, offsetof(Header, logOffset), SeedSegmentSize - ringSize);
    logAtEnd = withField<quint64>(logAtEnd, offsetof(Header, log.head), ringSize);
    logAtEnd = withField<quint64>(logAtEnd, offsetof(Header, log.tail), ringSize - 8);
    logAtEnd = withField<quint64>(logAtEnd, offsetof(Header, log.nextSequence), 1);

    // One padding record fills the ring and the head is 2^50 bytes ahead, so read() skips the
    // same padding record 2^36 times before it returns.
    QByteArray paddingLoop = base;
    paddingLoop = withField<quint32>(paddingLoop, header->logOffset + offsetof(RecordHeader, size), quint32(ringSize));
    paddingLoop = withField<quint32>(paddingLoop, header->logOffset + offsetof(RecordHeader, kind), RecordPadding);
    paddingLoop = withField<quint64>(paddingLoop, offsetof(Header, log.head), quint64(1) << 50);

    // The same ring, with the tail far behind the head as well: a reader that starts below
    // the tail jumps to it and then skipped the padding record 2^36 times (found by the fuzzer).
    QByteArray tailLoop = paddingLoop;
    tailLoop = withField<quint64>(tailLoop, offsetof(Header, log.tail), quint64(1) << 49);

    return writeSeed(directory, "eventlog-read-past-segment-end", logAtEnd)
            && writeSeed(directory, "eventlog-read-padding-loop", paddingLoop)
            && writeSeed(directory, "eventlog-read-tail-loop", tailLoop);
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        std::fprintf(stderr, "usage: fuzz_segment_seeds SEED_DIRECTORY [KNOWN_FAILURE_DIRECTORY]\n");
        return 2;
    }
    for (int i = 1; i < argc; ++i) {
        if (!QDir().mkpath(QString::fromLocal8Bit(argv[i]))) {
            std::fprintf(stderr, "fuzz_segment_seeds: failed to create directory %s\n", argv[i]);
            return 1;
        }
    }
    const QDir directory(QString::fromLocal8Bit(argv[1]));

    SegmentBuffer empty(SeedSegmentSize);
    SegmentBuffer populated(SeedSegmentSize);
    if (!initialise(&empty) || !initialise(&populated) || !populate(&populated)) {
        return 1;
    }
    const QByteArray valid = populated.bytes();
    const Header *header = populated.header();
    const quint64 ringSize = header->logSize;

    struct Seed
    {
        const char *name;
        QByteArray bytes;
    };
    const Seed seeds[] = {
        {"empty-segment", empty.bytes()},
        {"populated-segment", valid},
        {"truncated-header", valid.first(HeaderSize - 1)},
        {"truncated-segment", valid.first(valid.size() / 2)},
        {"bad-magic", withField<quint64>(valid, offsetof(Header, magic), 0)},
        {"bad-version", withField<quint32>(valid, offsetof(Header, version), Version + 1)},
        {"index-overlaps-log", withField<quint64>(valid, offsetof(Header, indexOffset[1]), header->logOffset)},
        {"log-size-not-power-of-two", withField<quint64>(valid, offsetof(Header, logSize), ringSize - 8)},
        // This passes validation, so the reader must bound its walk by the stored head and tail.
        {"log-head-far-ahead", withField<quint64>(valid, offsetof(Header, log.head), header->log.head.load() + 64 * ringSize)},
        {"log-tail-past-head", withField<quint64>(valid, offsetof(Header, log.tail), header->log.head.load() + 8)},
        {"second-index-active", withField<quint32>(valid, offsetof(Header, activeIndex), 1)},
    };
    for (const Seed &seed : seeds) {
        if (!writeSeed(directory, seed.name, seed.bytes)) {
            return 1;
        }
    }
    if (argc == 3 && !writeKnownFailures(QDir(QString::fromLocal8Bit(argv[2])), empty)) {
        return 1;
    }
    return 0;
}
