// SPDX-License-Identifier: MIT
#include "keyindex_p.h"
#include "layout_p.h"

#include <QSet>
#include <QTest>

#include <cstdlib>
#include <cstring>

using namespace mvent;

class tst_KeyIndex : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void hashKeyMatchesPinnedValues_data();
    void hashKeyMatchesPinnedValues();
    void hashKeyChangesWithOneByte();
    void hashKeySpreadsProbeStarts();
    void slotRoundTripsOffset_data();
    void slotRoundTripsOffset();
    void slotMatchesOnlyTopHashBits();
    void emptyAndTombstoneAreNotEntries();
    void indexOnSegmentUsesGeometry();
};

void tst_KeyIndex::hashKeyMatchesPinnedValues_data()
{
    QTest::addColumn<QByteArray>("key");
    QTest::addColumn<quint64>("expected");

    // 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime 0x100000001b3) with the high half
    // folded in by hash ^ (hash >> 29). Pools written by one build are read by another, so
    // these values must never change.
    QTest::newRow("empty") << QByteArray() << Q_UINT64_C(0xcbf29ce2dbb6c401);
    QTest::newRow("one letter") << QByteArray("a") << Q_UINT64_C(0xaf63dc49fd1f0ee8);
    QTest::newRow("word") << QByteArray("key") << Q_UINT64_C(0x3dc94a18d8114025);
    QTest::newRow("path-like") << QByteArray("temperature/sensor-1")
                               << Q_UINT64_C(0xf96bffb5a2421ae9);
    QTest::newRow("non-ASCII UTF-8") << QStringLiteral(u"grüße").toUtf8()
                                     << Q_UINT64_C(0x5862e9c945da7344);
}

void tst_KeyIndex::hashKeyMatchesPinnedValues()
{
    QFETCH(QByteArray, key);
    QFETCH(quint64, expected);

    QCOMPARE(KeyIndex::hashKey(key), expected);
}

void tst_KeyIndex::hashKeyChangesWithOneByte()
{
    const QByteArray base("pool-key-0000");
    const quint64 baseHash = KeyIndex::hashKey(base);
    for (qsizetype i = 0; i < base.size(); ++i) {
        QByteArray changed = base;
        changed[i] = char(changed[i] ^ 1);
        QVERIFY2(KeyIndex::hashKey(changed) != baseHash,
                 qPrintable(QStringLiteral("flipping bit 0 of byte %1 kept the hash").arg(i)));
    }
}

void tst_KeyIndex::hashKeySpreadsProbeStarts()
{
    // Probing starts at the low bits. Sequential short keys must not pile up on a few slots:
    // 1024 keys in 2048 slots hit more than half as many distinct slots as keys.
    constexpr quint64 Mask = 2048 - 1;
    QSet<quint64> firstSlots;
    for (int i = 0; i < 1024; ++i) {
        firstSlots.insert(KeyIndex::hashKey(QByteArray::number(i)) & Mask);
    }
    QVERIFY2(firstSlots.size() > 512,
             qPrintable(QStringLiteral("only %1 distinct first slots").arg(firstSlots.size())));
}

void tst_KeyIndex::slotRoundTripsOffset_data()
{
    QTest::addColumn<quint64>("hash");
    QTest::addColumn<quint64>("offset");

    QTest::newRow("small offset") << KeyIndex::hashKey("a") << quint64(4096);
    QTest::newRow("offset near 1 MiB") << KeyIndex::hashKey("b") << quint64(1024 * 1024 - 16);
    QTest::newRow("offset near 4 GiB") << KeyIndex::hashKey("c") << (quint64(1) << 32) + 16;
    QTest::newRow("largest offset") << ~quint64(0) << ((quint64(1) << 44) - 16);
    QTest::newRow("hash with zero top bits") << quint64(0x000000ffffffffff) << quint64(8192);
}

void tst_KeyIndex::slotRoundTripsOffset()
{
    QFETCH(quint64, hash);
    QFETCH(quint64, offset);

    const quint64 slot = KeyIndex::makeSlot(hash, offset);

    QCOMPARE(KeyIndex::slotOffset(slot), offset);
    QVERIFY(KeyIndex::slotMatchesHash(slot, hash));
    QVERIFY(KeyIndex::isEntry(slot));
}

void tst_KeyIndex::slotMatchesOnlyTopHashBits()
{
    const quint64 hash = Q_UINT64_C(0xabcdef0123456789);
    const quint64 slot = KeyIndex::makeSlot(hash, 4096);

    // The slot keeps only the top 24 bits of the hash, and lookups compare the full hash stored
    // in the entry.
    QVERIFY(KeyIndex::slotMatchesHash(slot, hash ^ 0xffffff));
    QVERIFY(!KeyIndex::slotMatchesHash(slot, hash ^ (quint64(1) << 63)));
    QVERIFY(!KeyIndex::slotMatchesHash(slot, hash ^ (quint64(1) << 40)));
}

void tst_KeyIndex::emptyAndTombstoneAreNotEntries()
{
    QVERIFY(!KeyIndex::isEntry(KeyIndex::Empty));
    QVERIFY(!KeyIndex::isEntry(KeyIndex::Tombstone));
    QVERIFY(KeyIndex::isEntry(KeyIndex::Tombstone + 1));
}

void tst_KeyIndex::indexOnSegmentUsesGeometry()
{
    constexpr quint64 SegmentSize = 256 * 1024;
    layout::Geometry geometry;
    QString message;
    QVERIFY2(layout::computeGeometry(SegmentSize, 100, 4, 0, &geometry, &message),
             qPrintable(message));
    QCOMPARE(geometry.indexCapacity, quint32(256));

    auto *memory = static_cast<uchar *>(std::aligned_alloc(4096, SegmentSize));
    std::memset(memory, 0, SegmentSize);
    QVERIFY2(layout::initialiseSegment(memory, geometry, "keyindex-test", &message),
             qPrintable(message));
    const auto *header = reinterpret_cast<const layout::Header *>(memory);

    const KeyIndex first(memory, header, 0);
    const KeyIndex second(memory, header, 1);
    QCOMPARE(first.capacity(), quint32(256));
    QCOMPARE(reinterpret_cast<uchar *>(&first.at(0)), memory + geometry.indexOffset[0]);
    QCOMPARE(reinterpret_cast<uchar *>(&second.at(0)), memory + geometry.indexOffset[1]);
    QCOMPARE(first.nextSlot(254), quint32(255));
    QCOMPARE(first.nextSlot(255), quint32(0));
    QVERIFY(first.firstSlotFor(~quint64(0)) < first.capacity());
    for (quint32 i = 0; i < first.capacity(); ++i) {
        QCOMPARE(first.at(i).load(), KeyIndex::Empty);
    }
    std::free(memory);
}

QTEST_APPLESS_MAIN(tst_KeyIndex)
#include "tst_keyindex.moc"
