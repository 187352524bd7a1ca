// SPDX-License-Identifier: MIT
#include "keyindex_p.h"

namespace mvent {

KeyIndex::KeyIndex(uchar *segment, const layout::Header *header, quint32 region)
    : m_slots(reinterpret_cast<std::atomic<quint64> *>(segment + header->indexOffset[region & 1]))
    , m_capacity(header->indexCapacity)
{
}

quint64 KeyIndex::hashKey(QByteArrayView key)
{
    quint64 hash = 0xcbf29ce484222325ULL;
    for (const char c : key) {
        hash ^= quint8(c);
        hash *= 0x100000001b3ULL;
    }
    // FNV-1a mixes the low bits poorly for short keys; fold the high half in because the
    // probe start uses the low bits.
    return hash ^ (hash >> 29);
}

quint64 KeyIndex::makeSlot(quint64 hash, quint64 entryOffset)
{
    return ((hash >> 40) << 40) | (entryOffset >> 4);
}

bool KeyIndex::slotMatchesHash(quint64 slot, quint64 hash)
{
    return (slot >> 40) == (hash >> 40);
}

} // namespace mvent
