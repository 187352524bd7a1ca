// SPDX-License-Identifier: MIT
#include "allocator_p.h"

#include <bit>
#include <cstring>

namespace mvent {

using namespace layout;

namespace {
// Bit 31 of BlockHeader::kind marks that the block before this one is free, so release() can
// find it through its footer.
constexpr quint32 PreviousFreeBit = 1u << 31;
} // namespace

Allocator::Allocator(uchar *segment, quint64 segmentSize, Header *header)
    : m_segment(segment)
    , m_heapBegin(header->heapOffset)
    , m_heapEnd(qMin(header->heapOffset + header->heapSize, segmentSize))
    , m_state(&header->allocator)
{
}

BlockHeader *Allocator::block(quint64 offset) const
{
    return reinterpret_cast<BlockHeader *>(m_segment + offset);
}

quint64 &Allocator::nextFree(quint64 offset) const
{
    return *reinterpret_cast<quint64 *>(m_segment + offset + sizeof(BlockHeader));
}

quint64 &Allocator::previousFree(quint64 offset) const
{
    return *reinterpret_cast<quint64 *>(m_segment + offset + sizeof(BlockHeader) + 8);
}

void Allocator::setFooter(quint64 offset, quint64 size) const
{
    *reinterpret_cast<quint64 *>(m_segment + offset + size - 8) = size;
}

quint64 Allocator::blockSizeFor(quint64 payloadBytes)
{
    return qMax(alignUp(payloadBytes + sizeof(BlockHeader), Alignment), MinBlockSize);
}

int Allocator::binFor(quint64 size)
{
    const int log2 = std::bit_width(size) - 1; // size >= 48, so log2 >= 5
    const int subBin = int((size >> (log2 - 2)) & 3);
    return qMin(log2 * 4 + subBin, AllocatorBins - 1);
}

void Allocator::insertFree(quint64 offset, quint64 size)
{
    BlockHeader *b = block(offset);
    b->tag = BlockFree;
    b->kind = 0; // free blocks are always merged with free neighbours, so the previous is used
    b->size = size;
    setFooter(offset, size);

    const int bin = binFor(size);
    const quint64 head = m_state->binHead[bin];
    nextFree(offset) = head;
    previousFree(offset) = 0;
    if (head != 0) {
        previousFree(head) = offset;
    }
    m_state->binHead[bin] = offset;
    m_state->binBitmap[bin / 64] |= quint64(1) << (bin % 64);
    m_state->freeBytes += size;
    setPreviousFreeFlag(offset + size, true);
}

bool Allocator::isFreeBlock(quint64 offset) const
{
    if (offset < m_heapBegin || offset % Alignment != 0 || offset + MinBlockSize > m_heapEnd) {
        return false;
    }
    const BlockHeader *b = block(offset);
    return b->tag == BlockFree && b->size >= MinBlockSize && b->size % Alignment == 0
            && b->size <= m_heapEnd - offset;
}

void Allocator::removeFree(quint64 offset)
{
    const quint64 size = block(offset)->size;
    const int bin = binFor(size);
    const quint64 next = nextFree(offset);
    const quint64 previous = previousFree(offset);
    if ((next != 0 && !isFreeBlock(next)) || (previous != 0 && !isFreeBlock(previous))) {
        m_damaged = true;
        return;
    }
    if (previous != 0) {
        nextFree(previous) = next;
    } else {
        m_state->binHead[bin] = next;
    }
    if (next != 0) {
        previousFree(next) = previous;
    }
    if (m_state->binHead[bin] == 0) {
        m_state->binBitmap[bin / 64] &= ~(quint64(1) << (bin % 64));
    }
    m_state->freeBytes -= size;
    setPreviousFreeFlag(offset + size, false);
}

void Allocator::setPreviousFreeFlag(quint64 offset, bool previousIsFree)
{
    if (offset >= m_heapEnd) {
        return;
    }
    BlockHeader *b = block(offset);
    if (b->tag != BlockAllocated) {
        return;
    }
    b->kind = previousIsFree ? (b->kind | PreviousFreeBit) : (b->kind & ~PreviousFreeBit);
}

quint64 Allocator::allocate(quint64 payloadBytes, quint32 kind)
{
    if (payloadBytes > m_heapEnd - m_heapBegin) {
        return 0;
    }
    const quint64 size = blockSizeFor(payloadBytes);

    // Round the request up to the next bin boundary so that any block of the bin found fits.
    const int log2 = std::bit_width(size) - 1;
    const quint64 rounded = size + (quint64(1) << (log2 - 2)) - 1;
    int bin = binFor(rounded);
    quint64 offset = 0;
    for (int word = bin / 64; word < AllocatorBins / 64 && offset == 0; ++word) {
        quint64 bits = m_state->binBitmap[word];
        if (word == bin / 64) {
            bits &= ~quint64(0) << (bin % 64);
        }
        if (bits != 0) {
            offset = m_state->binHead[word * 64 + std::countr_zero(bits)];
            if (!isFreeBlock(offset) || block(offset)->size < size) {
                m_damaged = true;
                return 0;
            }
        }
    }
    if (offset == 0) {
        // The rounding skips blocks of the request's own bin that might fit: look there too.
        quint64 steps = 0;
        for (quint64 candidate = m_state->binHead[binFor(size)]; candidate != 0;
             candidate = nextFree(candidate)) {
            if (!isFreeBlock(candidate) || ++steps > (m_heapEnd - m_heapBegin) / MinBlockSize) {
                m_damaged = true;
                return 0;
            }
            if (block(candidate)->size >= size) {
                offset = candidate;
                break;
            }
        }
        if (offset == 0) {
            return 0;
        }
    }

    removeFree(offset);
    if (m_damaged) {
        return 0;
    }
    const quint64 available = block(offset)->size;
    quint64 taken = available;
    if (available - size >= MinBlockSize) {
        taken = size;
    }
    BlockHeader *b = block(offset);
    b->tag = BlockAllocated;
    b->kind = kind;
    b->size = taken;
    if (taken != available) {
        insertFree(offset + taken, available - taken);
    }
    m_state->usedBytes += taken;
    m_state->allocatedBlocks += 1;
    return offset;
}

void Allocator::release(quint64 offset)
{
    BlockHeader *b = block(offset);
    quint64 start = offset;
    quint64 size = b->size;
    const bool previousIsFree = b->kind & PreviousFreeBit;
    m_state->usedBytes -= size;
    m_state->allocatedBlocks -= 1;

    const quint64 next = offset + size;
    if (next < m_heapEnd && isFreeBlock(next)) {
        const quint64 nextSize = block(next)->size;
        removeFree(next);
        size += nextSize;
    }
    if (previousIsFree && start > m_heapBegin) {
        const quint64 previousSize = *reinterpret_cast<quint64 *>(m_segment + start - 8);
        const quint64 previous = start - previousSize;
        if (previousSize >= MinBlockSize && previousSize <= start - m_heapBegin
            && isFreeBlock(previous) && block(previous)->size == previousSize) {
            removeFree(previous);
            start = previous;
            size += previousSize;
        }
    }
    insertFree(start, size);
}

void Allocator::reset(const std::vector<quint64> &liveBlocks)
{
    std::memset(m_state, 0, sizeof *m_state);
    quint64 cursor = m_heapBegin;
    bool previousFree = false;
    auto addGap = [&](quint64 end) {
        const quint64 gap = end - cursor;
        if (gap >= MinBlockSize) {
            insertFree(cursor, gap);
            previousFree = true;
        } else if (gap > 0) {
            // Too small for a free block: keep it as an unreferenced allocated block, which
            // the next reset() looks at again.
            BlockHeader *b = block(cursor);
            b->tag = BlockAllocated;
            b->kind = previousFree ? PreviousFreeBit : 0;
            b->size = gap;
            m_state->usedBytes += gap;
            m_state->allocatedBlocks += 1;
            previousFree = false;
        }
        cursor = end;
    };
    for (const quint64 offset : liveBlocks) {
        addGap(offset);
        BlockHeader *b = block(offset);
        b->kind = (b->kind & ~PreviousFreeBit) | (previousFree ? PreviousFreeBit : 0);
        m_state->usedBytes += b->size;
        m_state->allocatedBlocks += 1;
        cursor = offset + b->size;
        previousFree = false;
    }
    addGap(m_heapEnd);
}

bool Allocator::isAllocatedBlock(quint64 offset) const
{
    if (offset < m_heapBegin || offset % Alignment != 0 || offset + sizeof(BlockHeader) > m_heapEnd) {
        return false;
    }
    const BlockHeader *b = block(offset);
    return b->tag == BlockAllocated && b->size >= sizeof(BlockHeader) && b->size % Alignment == 0
            && b->size <= m_heapEnd - offset;
}

quint64 Allocator::blockSize(quint64 offset) const
{
    return block(offset)->size;
}

quint64 Allocator::largestFreeBlock() const
{
    for (int word = AllocatorBins / 64 - 1; word >= 0; --word) {
        const quint64 bits = m_state->binBitmap[word];
        if (bits == 0) {
            continue;
        }
        const int bin = word * 64 + 63 - std::countl_zero(bits);
        quint64 largest = 0;
        // Bounded and checked, because stats() may run on a heap that a dead writer damaged
        // before recovery.
        quint64 steps = 0;
        const quint64 maxSteps = (m_heapEnd - m_heapBegin) / MinBlockSize;
        for (quint64 b = m_state->binHead[bin]; b != 0 && steps < maxSteps; b = nextFree(b), ++steps) {
            if (b < m_heapBegin || b % Alignment != 0 || b + MinBlockSize > m_heapEnd
                || block(b)->tag != BlockFree) {
                break;
            }
            largest = qMax(largest, qMin(block(b)->size, m_heapEnd - b));
        }
        return largest;
    }
    return 0;
}

quint64 Allocator::maxPayload() const
{
    return m_heapEnd - m_heapBegin - sizeof(BlockHeader);
}

} // namespace mvent
