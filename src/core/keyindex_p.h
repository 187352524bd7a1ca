// SPDX-License-Identifier: MIT
#pragma once

#include "layout_p.h"
#include "mvent_core_export.h"

#include <QByteArrayView>

namespace mvent {

/*
    Open-addressing hash table of keys to heap entries, with linear probing. Each slot is one
    64-bit word, 24 bits of the key's hash and the entry offset divided by 16, so a writer
    publishes or retracts an entry with one atomic store and readers need no lock.
*/
class MVENT_CORE_EXPORT KeyIndex
{
public:
    static constexpr quint64 Empty = 0;
    static constexpr quint64 Tombstone = 1;

    KeyIndex(uchar *segment, const layout::Header *header, quint32 region);

    // 64-bit FNV-1a of the UTF-8 key; the same in every process, unlike qHash.
    static quint64 hashKey(QByteArrayView key);
    static quint64 makeSlot(quint64 hash, quint64 entryOffset);
    static quint64 slotOffset(quint64 slot) { return (slot & ((quint64(1) << 40) - 1)) << 4; }
    static bool slotMatchesHash(quint64 slot, quint64 hash);
    static bool isEntry(quint64 slot) { return slot > Tombstone; }

    quint32 capacity() const { return m_capacity; }
    quint32 firstSlotFor(quint64 hash) const { return quint32(hash) & (m_capacity - 1); }
    quint32 nextSlot(quint32 index) const { return (index + 1) & (m_capacity - 1); }
    std::atomic<quint64> &at(quint32 index) const { return m_slots[index]; }

private:
    std::atomic<quint64> *m_slots;
    quint32 m_capacity;
};

} // namespace mvent
