// SPDX-License-Identifier: MIT
//
// libFuzzer target that treats the input as a mapped pool segment. Every input goes through
// layout::validateSegment(). An input that it accepts is then read the way an attached reader
// reads a segment that another process may have damaged. The fuzzer reads the event log from
// position 0, from its tail and from its head, and looks up every key of both index regions
// again by its hash. None of this may crash, hang or touch a byte outside the segment.

#include "eventlog_p.h"
#include "keyindex_p.h"
#include "layout_p.h"
#include "valuecodec_p.h"

#include <QByteArray>
#include <QLoggingCategory>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace mvent;
using namespace mvent::layout;

namespace {

// Storage with the alignment of a mapped segment, which Header's alignas(64) members need, and
// exactly the input's size, so AddressSanitizer reports a read one byte past the end.
class SegmentCopy
{
public:
    SegmentCopy(const uint8_t *data, size_t size)
    {
        if (posix_memalign(reinterpret_cast<void **>(&m_data), 4096, size) != 0) {
            std::abort();
        }
        std::memcpy(m_data, data, size);
    }
    ~SegmentCopy() { std::free(m_data); }
    SegmentCopy(const SegmentCopy &) = delete;
    SegmentCopy &operator=(const SegmentCopy &) = delete;

    uchar *data() const { return m_data; }

private:
    uchar *m_data = nullptr;
};

// Reads up to maxRecords records from cursor and decodes the values they carry.
void readLog(const EventLog &log, EventLog::Cursor cursor, quint64 maxRecords)
{
    LogRecord record;
    quint64 missed = 0;
    for (quint64 i = 0; i < maxRecords; ++i) {
        if (log.read(&cursor, &record, &missed) == EventLog::Empty) {
            return;
        }
        if (record.kind == RecordValueChanged || record.kind == RecordEvent) {
            ValueCodec::decode(record.value, record.encoding);
        }
    }
}

// Returns the entry at block offset if it passes the checks a lock-free reader makes before it
// trusts an entry, else nullptr.
const Entry *checkedEntry(const uchar *segment, const Header &header, quint64 offset)
{
    const quint64 heapEnd = header.heapOffset + header.heapSize;
    if (offset < header.heapOffset || offset % Alignment != 0
        || offset + sizeof(BlockHeader) + sizeof(Entry) > heapEnd) {
        return nullptr;
    }
    const auto *block = reinterpret_cast<const BlockHeader *>(segment + offset);
    if (block->tag != BlockAllocated || block->size > heapEnd - offset) {
        return nullptr;
    }
    const auto *entry = reinterpret_cast<const Entry *>(block + 1);
    const quint64 needed = sizeof(BlockHeader) + sizeof(Entry) + quint64(entry->keyLength) + entry->valueLength;
    if (entry->keyLength > quint32(MaxKeyBytes) || needed > block->size) {
        return nullptr;
    }
    return entry;
}

// Probes index for key as a reader does, stopping at an empty slot or after one full round.
void lookUp(const uchar *segment, const Header &header, const KeyIndex &index, QByteArrayView key)
{
    const quint64 hash = KeyIndex::hashKey(key);
    quint32 i = index.firstSlotFor(hash);
    for (quint32 probes = 0; probes < index.capacity(); ++probes, i = index.nextSlot(i)) {
        const quint64 slot = index.at(i).load(std::memory_order_relaxed);
        if (slot == KeyIndex::Empty) {
            return;
        }
        if (!KeyIndex::isEntry(slot) || !KeyIndex::slotMatchesHash(slot, hash)) {
            continue;
        }
        const Entry *entry = checkedEntry(segment, header, KeyIndex::slotOffset(slot));
        if (entry && entry->hash == hash && entry->keyLength == quint32(key.size())
            && std::memcmp(entry + 1, key.data(), size_t(key.size())) == 0) {
            const char *value = reinterpret_cast<const char *>(entry + 1) + entry->keyLength;
            ValueCodec::decode(QByteArrayView(value, entry->valueLength), entry->encoding);
            return;
        }
    }
}

// Looks up again every key that a slot of index region references.
void readIndex(uchar *segment, const Header &header, quint32 region)
{
    const KeyIndex index(segment, &header, region);
    for (quint32 i = 0; i < index.capacity(); ++i) {
        const quint64 slot = index.at(i).load(std::memory_order_relaxed);
        if (!KeyIndex::isEntry(slot)) {
            continue;
        }
        const Entry *entry = checkedEntry(segment, header, KeyIndex::slotOffset(slot));
        if (entry) {
            lookUp(segment, header, index, QByteArrayView(reinterpret_cast<const char *>(entry + 1), entry->keyLength));
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    // Most inputs are rejected, and a warning for each would drown libFuzzer's output.
    QLoggingCategory::setFilterRules(QStringLiteral("mvent.*=false"));
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    // The fuzzer's input is read-only, and EventLog and KeyIndex take writable pointers.
    const SegmentCopy copy(data, size);
    QString message;
    if (validateSegment(copy.data(), size, QByteArray(), &message) != ValidationResult::Valid) {
        return 0;
    }
    auto *header = reinterpret_cast<Header *>(copy.data());

    // A ring of logSize bytes contains at most logSize / 8 records, because a record takes at
    // least 8 bytes. A reader that returns more follows a loop in corrupt data.
    const EventLog log(copy.data(), header);
    const quint64 maxRecords = header->logSize / 8 + 1;
    readLog(log, EventLog::Cursor{0, 0}, maxRecords);
    readLog(log, EventLog::Cursor{header->log.tail.load(), header->log.nextSequence.load()}, maxRecords);
    readLog(log, log.endCursor(), maxRecords);

    readIndex(copy.data(), *header, 0);
    readIndex(copy.data(), *header, 1);
    return 0;
}
