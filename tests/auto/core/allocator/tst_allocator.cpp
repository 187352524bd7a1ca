// SPDX-License-Identifier: MIT
#include "allocator_p.h"
#include "layout_p.h"

#include <QRandomGenerator>
#include <QTest>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

using namespace mvent;

namespace {

// A segment laid out by computeGeometry() and initialiseSegment() in process-private memory,
// so the allocator runs on the same heap region as in a real pool.
class TestHeap
{
public:
    explicit TestHeap(quint64 totalSize)
    {
        QString message;
        m_valid = layout::computeGeometry(totalSize, 64, 4, 0, &m_geometry, &message);
        if (!m_valid) {
            m_error = message;
            return;
        }
        m_memory = static_cast<uchar *>(std::aligned_alloc(4096, totalSize));
        std::memset(m_memory, 0, totalSize);
        m_valid = layout::initialiseSegment(m_memory, m_geometry, "allocator-test", &message);
        m_error = message;
    }
    ~TestHeap() { std::free(m_memory); }
    Q_DISABLE_COPY_MOVE(TestHeap)

    bool isValid() const { return m_valid; }
    QString errorString() const { return m_error; }
    uchar *memory() const { return m_memory; }
    layout::Header *header() const { return reinterpret_cast<layout::Header *>(m_memory); }
    quint64 heapBegin() const { return m_geometry.heapOffset; }
    quint64 heapEnd() const { return m_geometry.heapOffset + m_geometry.heapSize; }
    quint64 heapSize() const { return m_geometry.heapSize; }
    Allocator allocator() const { return Allocator(m_memory, m_geometry.totalSize, header()); }

private:
    layout::Geometry m_geometry;
    uchar *m_memory = nullptr;
    bool m_valid = false;
    QString m_error;
};

struct LiveBlock
{
    quint64 size = 0;    // block size as the allocator reports it
    quint64 payload = 0; // bytes requested
    quint8 fill = 0;     // byte written over the payload
};

constexpr quint64 HeapSegmentSize = 256 * 1024;

} // namespace

class tst_Allocator : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void freshHeapIsOneFreeBlock();
    void allocateReturnsAlignedBlockInHeap_data();
    void allocateReturnsAlignedBlockInHeap();
    void allocateRejectsRequestLargerThanHeap();
    void allocateWholeHeapThenNothingFits();
    void releaseAllCoalescesHeap_data();
    void releaseAllCoalescesHeap();
    void releaseMergesBothNeighbours();
    void releasedBlockIsReused();
    void randomisedOperationsMatchModel_data();
    void randomisedOperationsMatchModel();
    void resetKeepsLiveBlocks();
    void resetWithoutLiveBlocksFreesHeap();
    void damagedFreeListIsDetected_data();
    void damagedFreeListIsDetected();

private:
    quint64 allocateFilled(quint64 payload, quint8 fill);
    bool payloadIntact(quint64 offset, const LiveBlock &block) const;

    std::unique_ptr<TestHeap> m_heap;
};

void tst_Allocator::init()
{
    m_heap = std::make_unique<TestHeap>(HeapSegmentSize);
    QVERIFY2(m_heap->isValid(), qPrintable(m_heap->errorString()));
}

void tst_Allocator::cleanup()
{
    m_heap.reset();
}

quint64 tst_Allocator::allocateFilled(quint64 payload, quint8 fill)
{
    const quint64 offset = m_heap->allocator().allocate(payload, layout::KindEntry);
    if (offset != 0) {
        std::memset(m_heap->memory() + offset + sizeof(layout::BlockHeader), fill, payload);
    }
    return offset;
}

bool tst_Allocator::payloadIntact(quint64 offset, const LiveBlock &block) const
{
    const uchar *payload = m_heap->memory() + offset + sizeof(layout::BlockHeader);
    for (quint64 i = 0; i < block.payload; ++i) {
        if (payload[i] != block.fill) {
            return false;
        }
    }
    return true;
}

void tst_Allocator::freshHeapIsOneFreeBlock()
{
    const layout::AllocatorState &state = m_heap->header()->allocator;
    QCOMPARE(state.usedBytes, quint64(0));
    QCOMPARE(state.freeBytes, m_heap->heapSize());
    QCOMPARE(state.allocatedBlocks, quint64(0));
    QCOMPARE(m_heap->allocator().largestFreeBlock(), m_heap->heapSize());
    QCOMPARE(m_heap->allocator().maxPayload(), m_heap->heapSize() - sizeof(layout::BlockHeader));
}

void tst_Allocator::allocateReturnsAlignedBlockInHeap_data()
{
    QTest::addColumn<quint64>("payload");

    QTest::newRow("empty payload") << quint64(0);
    QTest::newRow("one byte") << quint64(1);
    QTest::newRow("below alignment") << quint64(15);
    QTest::newRow("one alignment unit") << quint64(16);
    QTest::newRow("just over minimum block") << quint64(33);
    QTest::newRow("hundred bytes") << quint64(100);
    QTest::newRow("one page") << quint64(4096);
    QTest::newRow("90000 bytes, about half the heap") << quint64(90000);
}

void tst_Allocator::allocateReturnsAlignedBlockInHeap()
{
    QFETCH(quint64, payload);
    Allocator allocator = m_heap->allocator();

    const quint64 offset = allocator.allocate(payload, layout::KindEntry);

    QVERIFY(offset != 0);
    QCOMPARE(offset % layout::Alignment, quint64(0));
    QVERIFY(offset >= m_heap->heapBegin());
    QVERIFY(offset + allocator.blockSize(offset) <= m_heap->heapEnd());
    QVERIFY(allocator.blockSize(offset) >= Allocator::blockSizeFor(payload));
    QVERIFY(allocator.blockSize(offset) >= Allocator::MinBlockSize);
    QVERIFY(allocator.isAllocatedBlock(offset));

    const layout::AllocatorState &state = m_heap->header()->allocator;
    QCOMPARE(state.usedBytes, allocator.blockSize(offset));
    QCOMPARE(state.freeBytes, m_heap->heapSize() - allocator.blockSize(offset));
    QCOMPARE(state.allocatedBlocks, quint64(1));
}

void tst_Allocator::allocateRejectsRequestLargerThanHeap()
{
    Allocator allocator = m_heap->allocator();

    QCOMPARE(allocator.allocate(allocator.maxPayload() + 1, layout::KindEntry), quint64(0));
    QCOMPARE(allocator.allocate(m_heap->heapSize() * 4, layout::KindEntry), quint64(0));
    QCOMPARE(m_heap->header()->allocator.usedBytes, quint64(0));
    QCOMPARE(m_heap->header()->allocator.freeBytes, m_heap->heapSize());
}

void tst_Allocator::allocateWholeHeapThenNothingFits()
{
    Allocator allocator = m_heap->allocator();

    const quint64 offset = allocator.allocate(allocator.maxPayload(), layout::KindEntry);

    QCOMPARE(offset, m_heap->heapBegin());
    QCOMPARE(allocator.blockSize(offset), m_heap->heapSize());
    QCOMPARE(allocator.largestFreeBlock(), quint64(0));
    QCOMPARE(m_heap->header()->allocator.freeBytes, quint64(0));
    QCOMPARE(allocator.allocate(0, layout::KindEntry), quint64(0));

    allocator.release(offset);
    QCOMPARE(allocator.largestFreeBlock(), m_heap->heapSize());
    QCOMPARE(m_heap->header()->allocator.usedBytes, quint64(0));
}

void tst_Allocator::releaseAllCoalescesHeap_data()
{
    QTest::addColumn<QString>("order");

    QTest::newRow("allocation order") << QStringLiteral("forward");
    QTest::newRow("reverse order") << QStringLiteral("reverse");
    QTest::newRow("even then odd") << QStringLiteral("interleaved");
    QTest::newRow("shuffled") << QStringLiteral("shuffled");
}

void tst_Allocator::releaseAllCoalescesHeap()
{
    QFETCH(QString, order);
    Allocator allocator = m_heap->allocator();

    std::vector<quint64> blocks;
    QRandomGenerator random(7);
    for (;;) {
        const quint64 offset = allocator.allocate(random.bounded(1, 3000), layout::KindEntry);
        if (offset == 0) {
            break;
        }
        blocks.push_back(offset);
    }
    QVERIFY2(blocks.size() > 20, "the heap should hold more than 20 blocks of up to 3000 bytes");

    if (order == QLatin1String("reverse")) {
        std::reverse(blocks.begin(), blocks.end());
    } else if (order == QLatin1String("interleaved")) {
        std::vector<quint64> reordered;
        for (size_t i = 0; i < blocks.size(); i += 2) {
            reordered.push_back(blocks[i]);
        }
        for (size_t i = 1; i < blocks.size(); i += 2) {
            reordered.push_back(blocks[i]);
        }
        blocks = reordered;
    } else if (order == QLatin1String("shuffled")) {
        std::shuffle(blocks.begin(), blocks.end(), random);
    }
    for (const quint64 offset : blocks) {
        allocator.release(offset);
    }

    const layout::AllocatorState &state = m_heap->header()->allocator;
    QCOMPARE(state.usedBytes, quint64(0));
    QCOMPARE(state.allocatedBlocks, quint64(0));
    QCOMPARE(state.freeBytes, m_heap->heapSize());
    QCOMPARE(allocator.largestFreeBlock(), m_heap->heapSize());
    QCOMPARE(allocator.allocate(allocator.maxPayload(), layout::KindEntry), m_heap->heapBegin());
}

void tst_Allocator::releaseMergesBothNeighbours()
{
    Allocator allocator = m_heap->allocator();
    const quint64 a = allocator.allocate(200, layout::KindEntry);
    const quint64 b = allocator.allocate(300, layout::KindEntry);
    const quint64 c = allocator.allocate(400, layout::KindEntry);
    const quint64 guard = allocator.allocate(100, layout::KindEntry);
    QVERIFY(a != 0);
    QVERIFY(b != 0);
    QVERIFY(c != 0);
    QVERIFY(guard != 0);
    // Take the rest of the heap, so that the only free space is what the releases make.
    const quint64 rest = allocator.allocate(allocator.largestFreeBlock() - sizeof(layout::BlockHeader),
                                            layout::KindEntry);
    QVERIFY(rest != 0);
    QCOMPARE(m_heap->header()->allocator.freeBytes, quint64(0));
    QCOMPARE(b, a + allocator.blockSize(a));
    QCOMPARE(c, b + allocator.blockSize(b));
    const quint64 merged = allocator.blockSize(a) + allocator.blockSize(b) + allocator.blockSize(c);

    allocator.release(a);
    allocator.release(c);
    allocator.release(b);

    // The three blocks merge into one free block, so a request of exactly their size fits at
    // a. Without the merge the largest free block would be c alone.
    QCOMPARE(allocator.largestFreeBlock(), merged);
    QCOMPARE(m_heap->header()->allocator.freeBytes, merged);
    const quint64 whole = allocator.allocate(merged - sizeof(layout::BlockHeader), layout::KindEntry);
    QCOMPARE(whole, a);
    QCOMPARE(allocator.blockSize(whole), merged);
    QVERIFY(allocator.isAllocatedBlock(guard));
}

void tst_Allocator::releasedBlockIsReused()
{
    Allocator allocator = m_heap->allocator();
    const quint64 first = allocator.allocate(1000, layout::KindEntry);
    const quint64 second = allocator.allocate(1000, layout::KindEntry);
    QVERIFY(first != 0);
    QVERIFY(second != 0);

    allocator.release(first);
    const quint64 again = allocator.allocate(1000, layout::KindEntry);

    QCOMPARE(again, first);
    QCOMPARE(m_heap->header()->allocator.allocatedBlocks, quint64(2));
}

void tst_Allocator::randomisedOperationsMatchModel_data()
{
    QTest::addColumn<quint32>("seed");
    QTest::addColumn<quint32>("maxPayload");

    QTest::newRow("small blocks, seed 1") << 1u << 256u;
    QTest::newRow("mixed blocks, seed 2") << 2u << 4000u;
    QTest::newRow("large blocks, seed 3") << 3u << 40000u;
    QTest::newRow("mixed blocks, seed 4") << 4u << 4000u;
}

void tst_Allocator::randomisedOperationsMatchModel()
{
    QFETCH(quint32, seed);
    QFETCH(quint32, maxPayload);
    Allocator allocator = m_heap->allocator();
    const layout::AllocatorState &state = m_heap->header()->allocator;
    QRandomGenerator random(seed);
    std::map<quint64, LiveBlock> live;
    quint64 modelUsed = 0;
    int failedAllocations = 0;

    for (int step = 0; step < 20000; ++step) {
        const bool doAllocate = live.empty() || random.bounded(100) < 55;
        if (doAllocate) {
            const quint64 payload = random.bounded(maxPayload + 1);
            const quint8 fill = quint8(random.bounded(1, 256));
            const quint64 offset = allocateFilled(payload, fill);
            if (offset == 0) {
                ++failedAllocations;
                // The allocator finds any free block that fits, so a failure means none does.
                QVERIFY2(allocator.largestFreeBlock() < Allocator::blockSizeFor(payload),
                         qPrintable(QStringLiteral("step %1: allocate(%2) failed although the "
                                                   "largest free block is %3 bytes")
                                            .arg(step)
                                            .arg(payload)
                                            .arg(allocator.largestFreeBlock())));
                continue;
            }
            const quint64 size = allocator.blockSize(offset);
            QCOMPARE(offset % layout::Alignment, quint64(0));
            QVERIFY(offset >= m_heap->heapBegin());
            QVERIFY(offset + size <= m_heap->heapEnd());
            QVERIFY(size >= Allocator::blockSizeFor(payload));

            auto next = live.lower_bound(offset);
            if (next != live.end()) {
                QVERIFY2(offset + size <= next->first,
                         qPrintable(QStringLiteral("step %1: block %2+%3 overlaps live block %4")
                                            .arg(step)
                                            .arg(offset)
                                            .arg(size)
                                            .arg(next->first)));
            }
            if (next != live.begin()) {
                const auto previous = std::prev(next);
                QVERIFY2(previous->first + previous->second.size <= offset,
                         qPrintable(QStringLiteral("step %1: block %2 overlaps live block %3+%4")
                                            .arg(step)
                                            .arg(offset)
                                            .arg(previous->first)
                                            .arg(previous->second.size)));
            }
            live.emplace(offset, LiveBlock{size, payload, fill});
            modelUsed += size;
        } else {
            auto victim = live.begin();
            std::advance(victim, random.bounded(quint32(live.size())));
            QVERIFY2(payloadIntact(victim->first, victim->second),
                     qPrintable(QStringLiteral("step %1: payload of block %2 was overwritten")
                                        .arg(step)
                                        .arg(victim->first)));
            allocator.release(victim->first);
            modelUsed -= victim->second.size;
            live.erase(victim);
        }

        QCOMPARE(state.usedBytes, modelUsed);
        QCOMPARE(state.usedBytes + state.freeBytes, m_heap->heapSize());
        QCOMPARE(state.allocatedBlocks, quint64(live.size()));
    }

    for (const auto &[offset, block] : live) {
        QVERIFY2(payloadIntact(offset, block),
                 qPrintable(QStringLiteral("payload of block %1 was overwritten").arg(offset)));
        allocator.release(offset);
    }
    QCOMPARE(state.usedBytes, quint64(0));
    QCOMPARE(allocator.largestFreeBlock(), m_heap->heapSize());
    if (maxPayload >= 40000) {
        QVERIFY2(failedAllocations > 0, "large blocks should have filled the heap at least once");
    }
}

void tst_Allocator::resetKeepsLiveBlocks()
{
    Allocator allocator = m_heap->allocator();
    std::map<quint64, LiveBlock> allocated;
    for (int i = 0; i < 40; ++i) {
        const quint64 payload = 64 + quint64(i) * 37;
        const quint8 fill = quint8(i + 1);
        const quint64 offset = allocateFilled(payload, fill);
        QVERIFY(offset != 0);
        allocated.emplace(offset, LiveBlock{allocator.blockSize(offset), payload, fill});
    }

    // Keep every third block, as recovery keeps the entries the index still references.
    std::map<quint64, LiveBlock> kept;
    std::vector<quint64> liveOffsets;
    quint64 keptBytes = 0;
    int i = 0;
    for (const auto &[offset, block] : allocated) {
        if (i++ % 3 == 0) {
            kept.emplace(offset, block);
            liveOffsets.push_back(offset);
            keptBytes += block.size;
        }
    }
    allocator.reset(liveOffsets);

    const layout::AllocatorState &state = m_heap->header()->allocator;
    QCOMPARE(state.usedBytes, keptBytes);
    QCOMPARE(state.freeBytes, m_heap->heapSize() - keptBytes);
    QCOMPARE(state.allocatedBlocks, quint64(kept.size()));
    for (const auto &[offset, block] : kept) {
        QVERIFY(allocator.isAllocatedBlock(offset));
        QCOMPARE(allocator.blockSize(offset), block.size);
        QVERIFY2(payloadIntact(offset, block),
                 qPrintable(QStringLiteral("reset() overwrote live block %1").arg(offset)));
    }

    // Fill the freed space and check that no new block lands on a live one.
    std::vector<quint64> fillers;
    for (;;) {
        const quint64 offset = allocateFilled(100, 0xEE);
        if (offset == 0) {
            break;
        }
        fillers.push_back(offset);
        const quint64 end = offset + allocator.blockSize(offset);
        for (const auto &[liveOffset, block] : kept) {
            QVERIFY2(end <= liveOffset || liveOffset + block.size <= offset,
                     qPrintable(QStringLiteral("new block %1 overlaps live block %2")
                                        .arg(offset)
                                        .arg(liveOffset)));
        }
    }
    QVERIFY(!fillers.empty());
    for (const auto &[offset, block] : kept) {
        QVERIFY2(payloadIntact(offset, block),
                 qPrintable(QStringLiteral("filling the heap overwrote live block %1").arg(offset)));
    }

    for (const quint64 offset : fillers) {
        allocator.release(offset);
    }
    for (const auto &[offset, block] : kept) {
        allocator.release(offset);
    }
    QCOMPARE(state.usedBytes, quint64(0));
    QCOMPARE(allocator.largestFreeBlock(), m_heap->heapSize());
}

void tst_Allocator::resetWithoutLiveBlocksFreesHeap()
{
    Allocator allocator = m_heap->allocator();
    for (int i = 0; i < 30; ++i) {
        QVERIFY(allocator.allocate(500, layout::KindEntry) != 0);
    }

    allocator.reset({});

    const layout::AllocatorState &state = m_heap->header()->allocator;
    QCOMPARE(state.usedBytes, quint64(0));
    QCOMPARE(state.allocatedBlocks, quint64(0));
    QCOMPARE(state.freeBytes, m_heap->heapSize());
    QCOMPARE(allocator.largestFreeBlock(), m_heap->heapSize());
}

QTEST_APPLESS_MAIN(tst_Allocator)
#include "tst_allocator.moc"

void tst_Allocator::damagedFreeListIsDetected_data()
{
    QTest::addColumn<QString>("target");

    QTest::newRow("beyond heap") << QStringLiteral("beyond heap");
    QTest::newRow("misaligned") << QStringLiteral("misaligned");
    QTest::newRow("inside header") << QStringLiteral("inside header");
    QTest::newRow("allocated block") << QStringLiteral("allocated block");
}

void tst_Allocator::damagedFreeListIsDetected()
{
    QFETCH(QString, target);
    Allocator allocator = m_heap->allocator();
    const quint64 live = allocator.allocate(100, layout::KindEntry);
    QVERIFY(live != 0);
    quint64 bogusHead = live;
    if (target == QLatin1String("beyond heap")) {
        bogusHead = 0x7ffffffffff0;
    } else if (target == QLatin1String("misaligned")) {
        bogusHead = m_heap->heapBegin() + 8;
    } else if (target == QLatin1String("inside header")) {
        bogusHead = 64;
    }

    // Point every non-empty bin at the bogus block, as a damaged header would.
    layout::AllocatorState &state = m_heap->header()->allocator;
    for (quint64 &head : state.binHead) {
        if (head != 0) {
            head = bogusHead;
        }
    }
    QCOMPARE(allocator.allocate(64, layout::KindEntry), quint64(0));
    QVERIFY(allocator.isDamaged());

    Allocator rebuilt = m_heap->allocator();
    rebuilt.reset({live});
    QVERIFY(!rebuilt.isDamaged());
    QVERIFY(rebuilt.allocate(64, layout::KindEntry) != 0);
    QCOMPARE(state.usedBytes + state.freeBytes, m_heap->heapSize());
}
