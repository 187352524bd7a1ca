// SPDX-License-Identifier: MIT
#pragma once

#include "layout_p.h"
#include "mvent_core_export.h"

#include <vector>

namespace mvent {

/*
    Heap allocator over the heap region of a segment: segregated free lists with four
    sub-bins per power of two and boundary tags, so allocate() and release() take constant
    time and neighbouring free blocks merge at once.

    Callers hold the pool lock. The free lists are a cache: after a writer died, reset()
    rebuilds them from the blocks that are still referenced, which also reclaims blocks that
    were allocated but never published.
*/
class MVENT_CORE_EXPORT Allocator
{
public:
    static constexpr quint64 MinBlockSize = 48;

    Allocator(uchar *segment, quint64 segmentSize, layout::Header *header);

    // Returns the offset of a new block with room for payloadBytes after its header, or 0 if no
    // free block is large enough.
    quint64 allocate(quint64 payloadBytes, quint32 kind);
    // Returns the block at blockOffset to the free lists. blockOffset must come from allocate().
    void release(quint64 blockOffset);
    // Rebuilds the free lists so that everything but liveBlocks is free. liveBlocks must be
    // sorted, validated with isAllocatedBlock(), and not overlap.
    void reset(const std::vector<quint64> &liveBlocks);

    // True if offset is an aligned block inside the heap whose header marks it allocated.
    bool isAllocatedBlock(quint64 offset) const;
    // True once a free-list link or free block failed its checks; the caller then rebuilds
    // the free lists with reset() (after recovering the live blocks) and tries again.
    bool isDamaged() const { return m_damaged; }
    quint64 blockSize(quint64 offset) const;
    quint64 largestFreeBlock() const;
    // Payload bytes of the largest block that could ever be allocated in an empty heap.
    quint64 maxPayload() const;

    static quint64 blockSizeFor(quint64 payloadBytes);

private:
    layout::BlockHeader *block(quint64 offset) const;
    quint64 &nextFree(quint64 offset) const;
    quint64 &previousFree(quint64 offset) const;
    void setFooter(quint64 offset, quint64 size) const;
    void insertFree(quint64 offset, quint64 size);
    void removeFree(quint64 offset);
    void setPreviousFreeFlag(quint64 offset, bool previousIsFree);
    static int binFor(quint64 size);
    // Checks a free-list link before it is followed: inside the heap, aligned, tagged free.
    bool isFreeBlock(quint64 offset) const;

    uchar *m_segment;
    quint64 m_heapBegin;
    quint64 m_heapEnd;
    layout::AllocatorState *m_state;
    bool m_damaged = false;
};

} // namespace mvent
