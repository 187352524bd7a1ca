// SPDX-License-Identifier: MIT
#include "layout_p.h"
#include "pool_p.h"
#include "sharedmemorypool.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QPoint>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QScopeGuard>
#include <QTest>
#include <QThread>
#include <QtEndian>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <limits>
#include <memory>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace mvent;

Q_DECLARE_METATYPE(mvent::SharedMemoryPool::Error)

namespace {

constexpr qint64 PoolSize = 256 * 1024;
constexpr int PoolEntries = 512;
constexpr uid_t NobodyId = 65534;

SharedMemoryPool::Options smallOptions()
{
    SharedMemoryPool::Options options;
    options.size = PoolSize;
    options.maxEntries = PoolEntries;
    options.maxAttachments = 16;
    return options;
}

QString describe(const SharedMemoryPool &pool)
{
    return QStringLiteral("error %1: %2").arg(int(pool.error())).arg(pool.errorString());
}

} // namespace

class tst_SharedMemoryPool : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();

    void setThenValueReturnsValue_data();
    void setThenValueReturnsValue();
    void valueOfMissingKeyReturnsDefault();
    void setReplacesPreviousValue();
    void removeDeletesKey();
    void keysListsStoredKeys();
    void clearRemovesEveryKey();
    void statsAccountForEveryByte();
    void expiredValueIsNeverReturned();
    void expiredEntriesAreSweptWhileOwnerThreadIsBusy();
    void removeExpiredReclaimsEntry();
    void invalidPoolNameIsRejected_data();
    void invalidPoolNameIsRejected();
    void validNameBoundariesAreAccepted();
    void failedSetKeepsStoredValues_data();
    void failedSetKeepsStoredValues();
    void keyAtMaximumLengthIsAccepted();
    void valueAtMaximumSizeIsAccepted();
    void poolFullByBytesReportsUsage();
    void poolFullByEntriesReportsLimit();
    void attachOnlyReportsMissingPool();
    void createOrAttachRacesRemoval_data();
    void createOrAttachRacesRemoval();
    void createOnlyReportsExistingPool();
    void corruptSegmentIsRejected_data();
    void corruptSegmentIsRejected();
    void permissionDeniedForOtherUser_data();
    void permissionDeniedForOtherUser();
    void existingPoolKeepsItsSize_data();
    void existingPoolKeepsItsSize();
    void operationsFailWhenDetached();
    void openAfterDetachSeesData();
    void valueChangedIsSignalled();
    void valueRemovedIsSignalled();
    void clearedIsSignalled();
    void qtSharedMemoryBackingStoresValues();
    void qtSharedMemoryBackingIsShared();
    void destroyPoolNotifiesOtherObject();
    void setAfterDamagedLogHeadFinishes();
    void attachBeyondMaxAttachmentsFails();
    void attachWithoutSlotWhenSlotsAreFull();

private:
    QString uniqueName(const char *tag);
    void storeBaseline(SharedMemoryPool *pool);
    void verifyBaseline(const SharedMemoryPool &pool);

    std::unique_ptr<QTemporaryDir> m_runtimeDir;
    QStringList m_names;
    int m_counter = 0;
};

void tst_SharedMemoryPool::initTestCase()
{
    if (qEnvironmentVariableIsEmpty("MVENT_RUNTIME_DIR")) {
        m_runtimeDir = std::make_unique<QTemporaryDir>();
        QVERIFY2(m_runtimeDir->isValid(), qPrintable(m_runtimeDir->errorString()));
        qputenv("MVENT_RUNTIME_DIR", QFile::encodeName(m_runtimeDir->path()));
    }
    qRegisterMetaType<SharedMemoryPool::Error>();
}

void tst_SharedMemoryPool::cleanup()
{
    for (const QString &name : std::as_const(m_names)) {
        SharedMemoryPool::removePool(name);
    }
    m_names.clear();
}

QString tst_SharedMemoryPool::uniqueName(const char *tag)
{
    const QString name = QStringLiteral("tst-%1-%2-%3")
                                 .arg(QLatin1String(tag))
                                 .arg(QCoreApplication::applicationPid())
                                 .arg(++m_counter);
    m_names.append(name);
    return name;
}

void tst_SharedMemoryPool::storeBaseline(SharedMemoryPool *pool)
{
    QVERIFY2(pool->set(QStringLiteral("baseline-int"), 17), qPrintable(describe(*pool)));
    QVERIFY2(pool->set(QStringLiteral("baseline-text"), QStringLiteral("kept")),
             qPrintable(describe(*pool)));
    QVERIFY2(pool->set(QStringLiteral("baseline-bytes"), QByteArray("\x01\x02", 2)),
             qPrintable(describe(*pool)));
}

void tst_SharedMemoryPool::verifyBaseline(const SharedMemoryPool &pool)
{
    QCOMPARE(pool.value(QStringLiteral("baseline-int")), QVariant(qlonglong(17)));
    QCOMPARE(pool.value(QStringLiteral("baseline-text")), QVariant(QStringLiteral("kept")));
    QCOMPARE(pool.value(QStringLiteral("baseline-bytes")), QVariant(QByteArray("\x01\x02", 2)));
}

void tst_SharedMemoryPool::setThenValueReturnsValue_data()
{
    QTest::addColumn<QString>("key");
    QTest::addColumn<QVariant>("value");
    QTest::addColumn<QVariant>("expected");

    QTest::newRow("integer") << QStringLiteral("n") << QVariant(42) << QVariant(qlonglong(42));
    QTest::newRow("double") << QStringLiteral("d") << QVariant(2.5) << QVariant(2.5);
    QTest::newRow("string") << QStringLiteral("s") << QVariant(QStringLiteral("text"))
                            << QVariant(QStringLiteral("text"));
    QTest::newRow("bytes") << QStringLiteral("b") << QVariant(QByteArray(300, 'x'))
                           << QVariant(QByteArray(300, 'x'));
    QTest::newRow("empty bytes") << QStringLiteral("e") << QVariant(QByteArray())
                                 << QVariant(QByteArray());
    QTest::newRow("map") << QStringLiteral("m")
                         << QVariant(QVariantMap{{QStringLiteral("x"), true}})
                         << QVariant(QVariantMap{{QStringLiteral("x"), true}});
    QTest::newRow("non-ASCII key") << QStringLiteral(u"schlüssel/温度") << QVariant(1.0)
                                   << QVariant(1.0);
}

void tst_SharedMemoryPool::setThenValueReturnsValue()
{
    QFETCH(QString, key);
    QFETCH(QVariant, value);
    QFETCH(QVariant, expected);
    SharedMemoryPool pool(uniqueName("set"), smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));

    QVERIFY2(pool.set(key, value), qPrintable(describe(pool)));

    QCOMPARE(pool.error(), SharedMemoryPool::NoError);
    QCOMPARE(pool.value(key), expected);
    QVERIFY(pool.contains(key));
}

void tst_SharedMemoryPool::valueOfMissingKeyReturnsDefault()
{
    SharedMemoryPool pool(uniqueName("missing"), smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));

    QCOMPARE(pool.value(QStringLiteral("absent"), 7), QVariant(7));
    QCOMPARE(pool.value(QStringLiteral("absent")), QVariant());
    QCOMPARE(pool.error(), SharedMemoryPool::NoError);
    QVERIFY(!pool.contains(QStringLiteral("absent")));
}

void tst_SharedMemoryPool::setReplacesPreviousValue()
{
    SharedMemoryPool pool(uniqueName("replace"), smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));

    QVERIFY(pool.set(QStringLiteral("k"), QStringLiteral("first")));
    QVERIFY(pool.set(QStringLiteral("k"), QByteArray(2000, 'z')));
    QVERIFY(pool.set(QStringLiteral("k"), QStringLiteral("third")));

    QCOMPARE(pool.value(QStringLiteral("k")), QVariant(QStringLiteral("third")));
    QCOMPARE(pool.stats().entryCount, 1);
    QCOMPARE(pool.keys(), QStringList{QStringLiteral("k")});
}

void tst_SharedMemoryPool::removeDeletesKey()
{
    SharedMemoryPool pool(uniqueName("remove"), smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    QVERIFY(pool.set(QStringLiteral("gone"), 1));
    QVERIFY(pool.set(QStringLiteral("stays"), 2));

    QVERIFY(pool.remove(QStringLiteral("gone")));

    QVERIFY(!pool.contains(QStringLiteral("gone")));
    QCOMPARE(pool.value(QStringLiteral("gone")), QVariant());
    QCOMPARE(pool.value(QStringLiteral("stays")), QVariant(qlonglong(2)));
    QCOMPARE(pool.stats().entryCount, 1);
    QVERIFY2(!pool.remove(QStringLiteral("gone")), "removing a missing key should return false");
    QCOMPARE(pool.error(), SharedMemoryPool::NoError);
}

void tst_SharedMemoryPool::keysListsStoredKeys()
{
    SharedMemoryPool pool(uniqueName("keys"), smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    QStringList expected;
    for (int i = 0; i < 100; ++i) {
        const QString key = QStringLiteral("key-%1").arg(i);
        QVERIFY2(pool.set(key, i), qPrintable(describe(pool)));
        expected.append(key);
    }
    for (int i = 0; i < 100; i += 3) {
        QVERIFY(pool.remove(QStringLiteral("key-%1").arg(i)));
        expected.removeOne(QStringLiteral("key-%1").arg(i));
    }

    QStringList keys = pool.keys();
    keys.sort();
    expected.sort();

    QCOMPARE(keys, expected);
    QCOMPARE(pool.stats().entryCount, qint64(expected.size()));
}

void tst_SharedMemoryPool::clearRemovesEveryKey()
{
    SharedMemoryPool pool(uniqueName("clear"), smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    for (int i = 0; i < 50; ++i) {
        QVERIFY(pool.set(QStringLiteral("k%1").arg(i), QByteArray(100, 'c')));
    }

    QVERIFY2(pool.clear(), qPrintable(describe(pool)));

    // Only the stats block of this process survives a clear.
    const PoolStats stats = pool.stats();
    QCOMPARE(stats.entryCount, 0);
    QCOMPARE(stats.usedBytes, stats.statsBytes);
    QCOMPARE(stats.usedBytes + stats.freeBytes, stats.heapSize);
    QVERIFY(pool.keys().isEmpty());
    QVERIFY(!pool.contains(QStringLiteral("k0")));
    QVERIFY(pool.set(QStringLiteral("after"), 1));
    QCOMPARE(pool.value(QStringLiteral("after")), QVariant(qlonglong(1)));
}

void tst_SharedMemoryPool::statsAccountForEveryByte()
{
    const QString name = uniqueName("stats");
    SharedMemoryPool pool(name, smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));

    const PoolStats empty = pool.stats();
    QCOMPARE(empty.name, name);
    QCOMPARE(empty.backing, QStringLiteral("file"));
    QCOMPARE(empty.totalSize, PoolSize);
    QCOMPARE(empty.maxEntries, PoolEntries);
    // An empty pool holds only this process's stats block.
    QCOMPARE(empty.usedBytes, empty.statsBytes);
    QCOMPARE(empty.usedBytes + empty.freeBytes, empty.heapSize);
    QCOMPARE(empty.attachedProcesses, 1);
    QCOMPARE(empty.maxKeyLength, pool.maxKeyLength());
    QCOMPARE(empty.maxValueSize, pool.maxValueSize());
    QVERIFY(empty.heapSize > 0);
    QVERIFY(empty.heapSize < PoolSize);
    QVERIFY2(QFileInfo::exists(empty.path), qPrintable(empty.path));
    QVERIFY(SharedMemoryPool::pools().contains(name));

    for (int i = 0; i < 20; ++i) {
        QVERIFY(pool.set(QStringLiteral("k%1").arg(i), QByteArray(i * 50, 's')));
    }
    const PoolStats filled = pool.stats();
    QCOMPARE(filled.entryCount, 20);
    QVERIFY(filled.usedBytes > 20 * 50);
    QCOMPARE(filled.usedBytes + filled.freeBytes, filled.heapSize);
    QVERIFY(filled.eventSequence >= empty.eventSequence + 20);
}

void tst_SharedMemoryPool::expiredEntriesAreSweptWhileOwnerThreadIsBusy()
{
    // The upkeep runs on a thread of the library, not on a timer of the owner's event loop,
    // so a thread that never returns to its loop still gets expired entries removed.
    SharedMemoryPool pool(uniqueName("sweep"), smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    QVERIFY(pool.set(QStringLiteral("short"), 1, 100));
    QCOMPARE(pool.stats().entryCount, 1);
    // Not QTRY_: this thread must not process events while it waits.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (pool.stats().entryCount != 0 && std::chrono::steady_clock::now() < deadline) {
        QThread::msleep(50);
    }
    QCOMPARE(pool.stats().entryCount, 0);
}

void tst_SharedMemoryPool::expiredValueIsNeverReturned()
{
    SharedMemoryPool pool(uniqueName("ttl"), smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    QSignalSpy removed(&pool, &SharedMemoryPool::valueRemoved);
    QVERIFY(removed.isValid());
    QVERIFY(pool.set(QStringLiteral("permanent"), 1));

    QVERIFY2(pool.set(QStringLiteral("short"), QStringLiteral("soon gone"), 300),
             qPrintable(describe(pool)));
    QCOMPARE(pool.stats().entryCount, 2);

    QTRY_COMPARE_WITH_TIMEOUT(pool.value(QStringLiteral("short")), QVariant(), 10000);
    QVERIFY(!pool.contains(QStringLiteral("short")));
    QCOMPARE(pool.keys(), QStringList{QStringLiteral("permanent")});
    QCOMPARE(pool.value(QStringLiteral("short"), 5), QVariant(5));

    // Either the periodic sweep or this call reclaims the entry, so afterwards it is gone.
    QVERIFY(pool.removeExpired() >= 0);
    QCOMPARE(pool.stats().entryCount, 1);
    QTRY_COMPARE_WITH_TIMEOUT(removed.count(), 1, 10000);
    QCOMPARE(removed.at(0).at(0).toString(), QStringLiteral("short"));
    QCOMPARE(pool.value(QStringLiteral("permanent")), QVariant(qlonglong(1)));
}

void tst_SharedMemoryPool::removeExpiredReclaimsEntry()
{
    // The engine runs no maintenance timer, so the expired entry stays until removeExpired().
    Pool engine(uniqueName("sweep"), smallOptions());
    PoolError failure;
    QVERIFY2(engine.open(QByteArray(), &failure), qPrintable(failure.message));
    QString message;
    const std::optional<EncodedValue> value = ValueCodec::encode(QStringLiteral("v"), &message);
    QVERIFY(value.has_value());
    const qint64 expiresMs = QDateTime::currentMSecsSinceEpoch() + 200;
    QVERIFY2(engine.set("expiring", *value, expiresMs, &failure), qPrintable(failure.message));
    QVERIFY2(engine.set("permanent", *value, 0, &failure), qPrintable(failure.message));
    const qint64 usedWithBoth = engine.stats().usedBytes;

    QTRY_VERIFY_WITH_TIMEOUT(!engine.get("expiring", &failure).has_value(), 10000);
    QCOMPARE(failure.code, SharedMemoryPool::NoError);
    QCOMPARE(engine.stats().entryCount, 2);

    QCOMPARE(engine.removeExpired(&failure), 1);
    const PoolStats after = engine.stats();
    QCOMPARE(after.entryCount, 1);
    QVERIFY(after.usedBytes < usedWithBoth);
    QCOMPARE(after.usedBytes + after.freeBytes, after.heapSize);
    QCOMPARE(engine.removeExpired(&failure), 0);
    QVERIFY(engine.get("permanent", &failure).has_value());
}

void tst_SharedMemoryPool::invalidPoolNameIsRejected_data()
{
    QTest::addColumn<QString>("name");

    QTest::newRow("empty") << QString();
    QTest::newRow("65 bytes") << QString(65, QLatin1Char('a'));
    QTest::newRow("slash") << QStringLiteral("a/b");
    QTest::newRow("dot dot") << QStringLiteral("..");
    QTest::newRow("leading dot") << QStringLiteral(".hidden");
    QTest::newRow("space") << QStringLiteral("a b");
    QTest::newRow("backslash") << QStringLiteral("a\\b");
    QTest::newRow("non-ASCII letter") << QStringLiteral(u"pööl");
    QTest::newRow("33 two-byte letters") << QString(33, QChar(0x00e9));
}

void tst_SharedMemoryPool::invalidPoolNameIsRejected()
{
    QFETCH(QString, name);
    // A private runtime directory, because tests running in parallel add files to the shared one.
    const QByteArray sharedDirectory = qgetenv("MVENT_RUNTIME_DIR");
    QTemporaryDir privateDirectory;
    QVERIFY2(privateDirectory.isValid(), qPrintable(privateDirectory.errorString()));
    qputenv("MVENT_RUNTIME_DIR", QFile::encodeName(privateDirectory.path()));
    const auto restore = qScopeGuard([&] { qputenv("MVENT_RUNTIME_DIR", sharedDirectory); });
    const QDir::Filters everything = QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot;
    const QStringList filesBefore = QDir(SharedMemoryPool::runtimeDirectory()).entryList(everything);

    SharedMemoryPool pool(name, smallOptions());

    QVERIFY(!pool.isAttached());
    QCOMPARE(pool.error(), SharedMemoryPool::InvalidName);
    QVERIFY(!pool.errorString().isEmpty());
    QVERIFY(!SharedMemoryPool::isValidName(name));
    QString message;
    QVERIFY(!SharedMemoryPool::removePool(name, &message));
    QVERIFY(!message.isEmpty());
    QCOMPARE(QDir(SharedMemoryPool::runtimeDirectory()).entryList(everything), filesBefore);
}

void tst_SharedMemoryPool::validNameBoundariesAreAccepted()
{
    QVERIFY(SharedMemoryPool::isValidName(QString(64, QLatin1Char('a'))));
    QVERIFY(SharedMemoryPool::isValidName(QStringLiteral("a")));
    QVERIFY(SharedMemoryPool::isValidName(QStringLiteral("A-z_0.9")));
    QVERIFY(SharedMemoryPool::isValidName(QStringLiteral("a..b")));

    const QString longName = QStringLiteral("tst-%1-").arg(QCoreApplication::applicationPid());
    const QString name = longName + QString(64 - longName.size(), QLatin1Char('x'));
    m_names.append(name);
    SharedMemoryPool pool(name, smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
}

void tst_SharedMemoryPool::failedSetKeepsStoredValues_data()
{
    QTest::addColumn<QString>("key");
    QTest::addColumn<QVariant>("value");
    QTest::addColumn<qint64>("ttlMs");
    QTest::addColumn<SharedMemoryPool::Error>("expectedError");
    QTest::addColumn<QString>("messagePart");

    QTest::newRow("empty key") << QString() << QVariant(1) << qint64(0)
                               << SharedMemoryPool::InvalidKey << QStringLiteral("empty");
    QTest::newRow("key of 1025 bytes") << QString(1025, QLatin1Char('k')) << QVariant(1) << qint64(0)
                                       << SharedMemoryPool::InvalidKey << QStringLiteral("1025");
    QTest::newRow("key of 342 three-byte characters")
            << QString(342, QChar(0x6e29)) << QVariant(1) << qint64(0)
            << SharedMemoryPool::InvalidKey << QStringLiteral("1026");
    QTest::newRow("key with unpaired surrogate")
            << (QStringLiteral("k") + QChar(0xd800)) << QVariant(1) << qint64(0)
            << SharedMemoryPool::InvalidKey << QStringLiteral("surrogate at index 1");
    QTest::newRow("string value with unpaired surrogate")
            << QStringLiteral("baseline-text") << QVariant(QString(QChar(0xdc00))) << qint64(0)
            << SharedMemoryPool::UnsupportedType << QStringLiteral("surrogate");
    QTest::newRow("unsupported type") << QStringLiteral("baseline-int") << QVariant(QPoint(1, 2))
                                      << qint64(0) << SharedMemoryPool::UnsupportedType
                                      << QStringLiteral("QPoint");
    QTest::newRow("unsupported nested type")
            << QStringLiteral("baseline-text") << QVariant(QVariantList{QSize(1, 1)}) << qint64(0)
            << SharedMemoryPool::UnsupportedType << QStringLiteral("QSize");
    QTest::newRow("negative TTL") << QStringLiteral("baseline-int") << QVariant(2) << qint64(-1)
                                  << SharedMemoryPool::InvalidOptions << QStringLiteral("-1");
    QTest::newRow("TTL that overflows the expiry time")
            << QStringLiteral("baseline-int") << QVariant(2)
            << std::numeric_limits<qint64>::max() << SharedMemoryPool::InvalidOptions
            << QStringLiteral("maximum");
    QTest::newRow("value too large") << QStringLiteral("baseline-bytes")
                                     << QVariant(QByteArray(PoolSize, 'v')) << qint64(0)
                                     << SharedMemoryPool::ValueTooLarge
                                     << QStringLiteral("baseline-bytes");
}

void tst_SharedMemoryPool::failedSetKeepsStoredValues()
{
    QFETCH(QString, key);
    QFETCH(QVariant, value);
    QFETCH(qint64, ttlMs);
    QFETCH(SharedMemoryPool::Error, expectedError);
    QFETCH(QString, messagePart);
    SharedMemoryPool pool(uniqueName("fail"), smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    storeBaseline(&pool);
    const PoolStats before = pool.stats();

    QVERIFY(!pool.set(key, value, ttlMs));

    QCOMPARE(pool.error(), expectedError);
    QVERIFY2(pool.errorString().contains(messagePart), qPrintable(pool.errorString()));
    verifyBaseline(pool);
    const PoolStats after = pool.stats();
    QCOMPARE(after.entryCount, before.entryCount);
    QCOMPARE(after.usedBytes, before.usedBytes);
    QCOMPARE(after.eventSequence, before.eventSequence);

    // The next successful call clears the error.
    QVERIFY(pool.set(QStringLiteral("other"), 1));
    QCOMPARE(pool.error(), SharedMemoryPool::NoError);
    QVERIFY(pool.errorString().isEmpty());
}

void tst_SharedMemoryPool::keyAtMaximumLengthIsAccepted()
{
    SharedMemoryPool pool(uniqueName("longkey"), smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    const QString key(int(pool.maxKeyLength()), QLatin1Char('k'));

    QVERIFY2(pool.set(key, 5), qPrintable(describe(pool)));

    QCOMPARE(pool.value(key), QVariant(qlonglong(5)));
    QCOMPARE(pool.keys(), QStringList{key});
}

void tst_SharedMemoryPool::valueAtMaximumSizeIsAccepted()
{
    SharedMemoryPool pool(uniqueName("maxvalue"), smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    const QString key = QStringLiteral("big");
    // maxValueSize() is the limit for a one-byte key, and each further key byte lowers it by
    // one. Raw QByteArray values are stored as they are.
    QVERIFY2(pool.set(QStringLiteral("k"), QByteArray(pool.maxValueSize(), 'o')),
             qPrintable(describe(pool)));
    QVERIFY(!pool.set(QStringLiteral("k"), QByteArray(pool.maxValueSize() + 1, 'o')));
    QVERIFY(pool.remove(QStringLiteral("k")));
    const qint64 limit = pool.maxValueSize() - (key.toUtf8().size() - 1);
    QVERIFY(limit > 1000);

    QVERIFY2(pool.set(key, QByteArray(limit, 'm')), qPrintable(describe(pool)));
    QCOMPARE(pool.value(key).toByteArray().size(), limit);

    QVERIFY(!pool.set(key, QByteArray(limit + 1, 'n')));
    QCOMPARE(pool.error(), SharedMemoryPool::ValueTooLarge);
    QVERIFY2(pool.errorString().contains(QString::number(limit)), qPrintable(pool.errorString()));
    QVERIFY2(pool.errorString().contains(QString::number(limit + 1)), qPrintable(pool.errorString()));
    QCOMPARE(pool.value(key).toByteArray(), QByteArray(limit, 'm'));
}

void tst_SharedMemoryPool::poolFullByBytesReportsUsage()
{
    SharedMemoryPool pool(uniqueName("fullbytes"), smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    const QByteArray chunk(8000, 'f');
    int stored = 0;
    while (pool.set(QStringLiteral("chunk-%1").arg(stored), chunk)) {
        ++stored;
        QVERIFY2(stored < 1000, "the pool never reported being full");
    }

    QCOMPARE(pool.error(), SharedMemoryPool::PoolFull);
    QVERIFY(stored > 10);
    const PoolStats stats = pool.stats();
    QVERIFY2(pool.errorString().contains(QString::number(stats.usedBytes)),
             qPrintable(QStringLiteral("used %1 not in: %2").arg(stats.usedBytes).arg(pool.errorString())));
    QVERIFY2(pool.errorString().contains(QString::number(stats.heapSize)),
             qPrintable(QStringLiteral("total %1 not in: %2").arg(stats.heapSize).arg(pool.errorString())));
    QCOMPARE(stats.entryCount, stored);
    QCOMPARE(stats.usedBytes + stats.freeBytes, stats.heapSize);

    // A replacement that does not fit keeps the old value, and every stored chunk is intact.
    QVERIFY(!pool.set(QStringLiteral("chunk-0"), QByteArray(15000, 'g')));
    QCOMPARE(pool.error(), SharedMemoryPool::PoolFull);
    for (int i = 0; i < stored; ++i) {
        QCOMPARE(pool.value(QStringLiteral("chunk-%1").arg(i)).toByteArray(), chunk);
    }

    QVERIFY(pool.remove(QStringLiteral("chunk-1")));
    QVERIFY2(pool.set(QStringLiteral("chunk-new"), chunk), qPrintable(describe(pool)));
}

void tst_SharedMemoryPool::poolFullByEntriesReportsLimit()
{
    SharedMemoryPool::Options options = smallOptions();
    options.maxEntries = 8;
    SharedMemoryPool pool(uniqueName("fullentries"), options);
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    for (int i = 0; i < 8; ++i) {
        QVERIFY2(pool.set(QStringLiteral("k%1").arg(i), i), qPrintable(describe(pool)));
    }

    QVERIFY(!pool.set(QStringLiteral("ninth"), 9));

    QCOMPARE(pool.error(), SharedMemoryPool::PoolFull);
    QVERIFY2(pool.errorString().contains(QStringLiteral("8")), qPrintable(pool.errorString()));
    QVERIFY(!pool.contains(QStringLiteral("ninth")));
    QCOMPARE(pool.stats().entryCount, 8);
    for (int i = 0; i < 8; ++i) {
        QCOMPARE(pool.value(QStringLiteral("k%1").arg(i)), QVariant(qlonglong(i)));
    }
    // Replacing needs no new entry, so it still works in a full index.
    QVERIFY2(pool.set(QStringLiteral("k3"), 33), qPrintable(describe(pool)));
    QCOMPARE(pool.value(QStringLiteral("k3")), QVariant(qlonglong(33)));
}

void tst_SharedMemoryPool::attachOnlyReportsMissingPool()
{
    const QString name = uniqueName("absent");
    SharedMemoryPool::Options options = smallOptions();
    options.openMode = SharedMemoryPool::AttachOnly;

    SharedMemoryPool pool(name, options);

    QVERIFY(!pool.isAttached());
    QCOMPARE(pool.error(), SharedMemoryPool::NotFound);
    QVERIFY2(pool.errorString().contains(name), qPrintable(pool.errorString()));
    QVERIFY(!SharedMemoryPool::pools().contains(name));
    QVERIFY(!pool.set(QStringLiteral("k"), 1));
    QCOMPARE(pool.error(), SharedMemoryPool::NotAttached);
}

void tst_SharedMemoryPool::createOrAttachRacesRemoval_data()
{
    QTest::addColumn<SharedMemoryPool::Backing>("backing");

    QTest::newRow("file") << SharedMemoryPool::FileBacking;
    QTest::newRow("qsharedmemory") << SharedMemoryPool::QtSharedMemoryBacking;
}

void tst_SharedMemoryPool::createOrAttachRacesRemoval()
{
    QFETCH(SharedMemoryPool::Backing, backing);
    constexpr int Threads = 3;
    constexpr int Rounds = 300;
    const QString name = uniqueName("race");
    std::atomic<int> notFound = 0;
    std::atomic<int> attached = 0;

    // Each thread opens and closes the pool in a loop, and with the file backing removes it
    // every other round. A QSharedMemory segment ends with its last detach, so either way a
    // pool that create() found may be gone when attach() follows.
    auto openAndClose = [&] {
        for (int round = 0; round < Rounds; ++round) {
            SharedMemoryPool::Options options = smallOptions();
            options.backing = backing;
            options.useProcessSlot = false;
            SharedMemoryPool pool(name, options);
            if (pool.isAttached()) {
                ++attached;
            } else if (pool.error() == SharedMemoryPool::NotFound) {
                ++notFound;
                qWarning("round %d: %s", round, qPrintable(pool.errorString()));
            }
            if (backing == SharedMemoryPool::FileBacking && round % 2 == 1) {
                SharedMemoryPool::removePool(name);
            }
        }
    };
    std::vector<std::unique_ptr<QThread>> threads;
    for (int i = 0; i < Threads; ++i) {
        threads.emplace_back(QThread::create(openAndClose));
        threads.back()->start();
    }
    for (const auto &thread : threads) {
        QVERIFY(thread->wait(QDeadlineTimer(120000)));
    }

    // Only NotFound counts. A removed pool gives PoolDestroyed to an object that attached to it
    // just before, and Qt's QSharedMemory can fail to set its key in a race.
    QCOMPARE(notFound.load(), 0);
    QVERIFY(attached.load() > 0);
}

void tst_SharedMemoryPool::createOnlyReportsExistingPool()
{
    const QString name = uniqueName("exists");
    SharedMemoryPool first(name, smallOptions());
    QVERIFY2(first.isAttached(), qPrintable(describe(first)));
    storeBaseline(&first);
    SharedMemoryPool::Options options = smallOptions();
    options.openMode = SharedMemoryPool::CreateOnly;

    SharedMemoryPool second(name, options);

    QVERIFY(!second.isAttached());
    QCOMPARE(second.error(), SharedMemoryPool::AlreadyExists);
    QVERIFY2(second.errorString().contains(name), qPrintable(second.errorString()));
    verifyBaseline(first);
    QCOMPARE(first.stats().attachedProcesses, 1);
}

void tst_SharedMemoryPool::corruptSegmentIsRejected_data()
{
    QTest::addColumn<qint64>("fieldOffset"); // -1 resizes the file to newSize instead
    QTest::addColumn<QByteArray>("fieldBytes");
    QTest::addColumn<qint64>("newSize");
    QTest::addColumn<SharedMemoryPool::Error>("expectedError");
    QTest::addColumn<QString>("messagePart");

    auto le64 = [](quint64 value) {
        QByteArray bytes(8, '\0');
        qToLittleEndian(value, bytes.data());
        return bytes;
    };
    auto le32 = [](quint32 value) {
        QByteArray bytes(4, '\0');
        qToLittleEndian(value, bytes.data());
        return bytes;
    };
    const qint64 magic = offsetof(layout::Header, magic);
    const qint64 version = offsetof(layout::Header, version);
    const qint64 totalSize = offsetof(layout::Header, totalSize);
    const qint64 heapOffset = offsetof(layout::Header, heapOffset);
    const qint64 logOffset = offsetof(layout::Header, logOffset);
    const qint64 indexCapacity = offsetof(layout::Header, indexCapacity);
    const qint64 name = offsetof(layout::Header, name);

    QTest::newRow("wrong magic") << magic << QByteArray("NOTAPOOL") << qint64(0)
                                 << SharedMemoryPool::CorruptSegment
                                 << QStringLiteral("not an mvent pool");
    QTest::newRow("zero magic") << magic << le64(0) << qint64(0)
                                << SharedMemoryPool::CorruptSegment
                                << QStringLiteral("not an mvent pool");
    QTest::newRow("newer version") << version << le32(layout::Version + 1) << qint64(0)
                                   << SharedMemoryPool::IncompatibleVersion
                                   << QStringLiteral("version %1").arg(layout::Version + 1);
    QTest::newRow("version zero") << version << le32(0) << qint64(0)
                                  << SharedMemoryPool::IncompatibleVersion
                                  << QStringLiteral("version 0");
    QTest::newRow("truncated to two pages") << qint64(-1) << QByteArray() << qint64(8192)
                                            << SharedMemoryPool::CorruptSegment
                                            << QStringLiteral("8192");
    QTest::newRow("truncated below header") << qint64(-1) << QByteArray() << qint64(100)
                                            << SharedMemoryPool::CorruptSegment
                                            << QStringLiteral("truncated");
    QTest::newRow("empty file") << qint64(-1) << QByteArray() << qint64(0)
                                << SharedMemoryPool::CorruptSegment << QStringLiteral("truncated");
    QTest::newRow("extended file") << qint64(-1) << QByteArray() << PoolSize + 4096
                                   << SharedMemoryPool::CorruptSegment
                                   << QString::number(PoolSize + 4096);
    QTest::newRow("header size larger than file")
            << totalSize << le64(quint64(PoolSize) * 2) << qint64(0)
            << SharedMemoryPool::CorruptSegment << QString::number(PoolSize * 2);
    QTest::newRow("header size smaller than file")
            << totalSize << le64(quint64(PoolSize) / 2) << qint64(0)
            << SharedMemoryPool::CorruptSegment << QString::number(PoolSize / 2);
    QTest::newRow("heap beyond the end") << heapOffset << le64(quint64(PoolSize) + 4096)
                                         << qint64(0) << SharedMemoryPool::CorruptSegment
                                         << QStringLiteral("heap");
    QTest::newRow("log offset beyond the end") << logOffset << le64(quint64(PoolSize) * 16)
                                               << qint64(0) << SharedMemoryPool::CorruptSegment
                                               << QStringLiteral("event log");
    QTest::newRow("index capacity not a power of two") << indexCapacity << le32(1000) << qint64(0)
                                                       << SharedMemoryPool::CorruptSegment
                                                       << QStringLiteral("index capacity");
    QTest::newRow("name of another pool") << name << QByteArray("someone-else", 13) << qint64(0)
                                          << SharedMemoryPool::CorruptSegment
                                          << QStringLiteral("someone-else");
}

void tst_SharedMemoryPool::corruptSegmentIsRejected()
{
    QFETCH(qint64, fieldOffset);
    QFETCH(QByteArray, fieldBytes);
    QFETCH(qint64, newSize);
    QFETCH(SharedMemoryPool::Error, expectedError);
    QFETCH(QString, messagePart);
    const QString name = uniqueName("corrupt");
    QString path;
    {
        SharedMemoryPool pool(name, smallOptions());
        QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
        QVERIFY(pool.set(QStringLiteral("k"), 1));
        path = pool.stats().path;
    }

    QFile file(path);
    QVERIFY2(file.open(QIODevice::ReadWrite), qPrintable(file.errorString()));
    if (fieldOffset < 0) {
        QVERIFY2(file.resize(newSize), qPrintable(file.errorString()));
    } else {
        QVERIFY(file.seek(fieldOffset));
        QCOMPARE(file.write(fieldBytes), fieldBytes.size());
    }
    file.close();

    SharedMemoryPool pool(name, smallOptions());

    QVERIFY(!pool.isAttached());
    QCOMPARE(pool.error(), expectedError);
    QVERIFY2(pool.errorString().contains(messagePart), qPrintable(pool.errorString()));
    QVERIFY2(pool.errorString().contains(name), qPrintable(pool.errorString()));
    QCOMPARE(QFileInfo(path).size(), fieldOffset < 0 ? newSize : PoolSize);

    QString message;
    QVERIFY2(SharedMemoryPool::removePool(name, &message), qPrintable(message));
    QVERIFY(!QFileInfo::exists(path));
}

void tst_SharedMemoryPool::permissionDeniedForOtherUser_data()
{
    QTest::addColumn<bool>("directoryOfOtherUser");

    QTest::newRow("pool file of another user") << false;
    QTest::newRow("runtime directory of another user") << true;
}

void tst_SharedMemoryPool::permissionDeniedForOtherUser()
{
    QFETCH(bool, directoryOfOtherUser);
    const QString name = uniqueName("denied");

    if (::geteuid() != 0) {
        if (directoryOfOtherUser) {
            QSKIP("needs root to hand a directory to another user");
        }
        {
            SharedMemoryPool creator(name, smallOptions());
            QVERIFY2(creator.isAttached(), qPrintable(describe(creator)));
        }
        QVERIFY(QFile::setPermissions(SharedMemoryPool::runtimeDirectory() + QLatin1Char('/') + name
                                              + QStringLiteral(".pool"),
                                      QFileDevice::Permissions()));
        SharedMemoryPool pool(name, smallOptions());
        QVERIFY(!pool.isAttached());
        QCOMPARE(pool.error(), SharedMemoryPool::PermissionDenied);
        QVERIFY2(pool.errorString().contains(name), qPrintable(pool.errorString()));
        return;
    }

    const QString setpriv = QStandardPaths::findExecutable(QStringLiteral("setpriv"));
    if (setpriv.isEmpty()) {
        QSKIP("setpriv (util-linux) is not installed, so the helper cannot run as another user");
    }

    // A directory of its own, so that handing it to user nobody (uid 65534) touches no other
    // test's pools.
    QTemporaryDir directory;
    QVERIFY2(directory.isValid(), qPrintable(directory.errorString()));
    const QByteArray previousRuntimeDir = qgetenv("MVENT_RUNTIME_DIR");
    qputenv("MVENT_RUNTIME_DIR", QFile::encodeName(directory.path()));
    {
        SharedMemoryPool creator(name, smallOptions());
        qputenv("MVENT_RUNTIME_DIR", previousRuntimeDir);
        QVERIFY2(creator.isAttached(), qPrintable(describe(creator)));
    }
    const QByteArray nativePath = QFile::encodeName(directory.path());
    if (!directoryOfOtherUser) {
        QCOMPARE(::chown(nativePath.constData(), NobodyId, NobodyId), 0);
    }

    QProcess helper;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("MVENT_RUNTIME_DIR"), directory.path());
    helper.setProcessEnvironment(environment);
    helper.start(setpriv, {QStringLiteral("--reuid=65534"), QStringLiteral("--regid=65534"),
                           QStringLiteral("--clear-groups"), QStringLiteral(MVENT_HELPER_POOL_ATTACH),
                           name});
    QVERIFY2(helper.waitForFinished(60000), "pool-attach did not finish");
    const QString output = QString::fromUtf8(helper.readAllStandardOutput()).trimmed();
    const QString errors = QString::fromUtf8(helper.readAllStandardError()).trimmed();
    QCOMPARE(::chown(nativePath.constData(), 0, 0), 0);

    QVERIFY2(output.startsWith(QStringLiteral("error PermissionDenied ")),
             qPrintable(QStringLiteral("stdout: %1\nstderr: %2").arg(output, errors)));
    QCOMPARE(helper.exitCode(), 1);
    if (!directoryOfOtherUser) {
        QVERIFY2(output.contains(name), qPrintable(output));
    }

    qputenv("MVENT_RUNTIME_DIR", QFile::encodeName(directory.path()));
    QString message;
    const bool removed = SharedMemoryPool::removePool(name, &message);
    qputenv("MVENT_RUNTIME_DIR", previousRuntimeDir);
    QVERIFY2(removed, qPrintable(message));
}

void tst_SharedMemoryPool::existingPoolKeepsItsSize_data()
{
    QTest::addColumn<qint64>("requestedSize");
    QTest::addColumn<int>("requestedEntries");

    QTest::newRow("larger request") << qint64(4 * 1024 * 1024) << 4096;
    QTest::newRow("smaller request") << qint64(64 * 1024) << 16;
    QTest::newRow("size below the minimum") << qint64(1) << 1;
}

void tst_SharedMemoryPool::existingPoolKeepsItsSize()
{
    QFETCH(qint64, requestedSize);
    QFETCH(int, requestedEntries);
    const QString name = uniqueName("size");
    SharedMemoryPool original(name, smallOptions());
    QVERIFY2(original.isAttached(), qPrintable(describe(original)));
    storeBaseline(&original);
    SharedMemoryPool::Options options = smallOptions();
    options.size = requestedSize;
    options.maxEntries = requestedEntries;

    SharedMemoryPool other(name, options);

    QVERIFY2(other.isAttached(), qPrintable(describe(other)));
    const PoolStats stats = other.stats();
    QCOMPARE(stats.totalSize, PoolSize);
    QCOMPARE(stats.maxEntries, PoolEntries);
    QCOMPARE(stats.attachedProcesses, 2);
    verifyBaseline(other);
    QVERIFY(other.set(QStringLiteral("from-other"), 3));
    QCOMPARE(original.value(QStringLiteral("from-other")), QVariant(qlonglong(3)));
}

void tst_SharedMemoryPool::operationsFailWhenDetached()
{
    SharedMemoryPool pool(uniqueName("detached"), smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    QSignalSpy attached(&pool, &SharedMemoryPool::attachedChanged);
    QVERIFY(attached.isValid());

    pool.detach();

    QVERIFY(!pool.isAttached());
    QCOMPARE(attached.count(), 1);
    QCOMPARE(attached.at(0).at(0).toBool(), false);
    QVERIFY(!pool.set(QStringLiteral("k"), 1));
    QCOMPARE(pool.error(), SharedMemoryPool::NotAttached);
    QCOMPARE(pool.value(QStringLiteral("k"), 9), QVariant(9));
    QCOMPARE(pool.error(), SharedMemoryPool::NotAttached);
    QVERIFY(!pool.remove(QStringLiteral("k")));
    QVERIFY(!pool.clear());
    QCOMPARE(pool.removeExpired(), -1);
    QVERIFY(pool.keys().isEmpty());
    QCOMPARE(pool.stats().totalSize, 0);
    QVERIFY(!pool.destroyPool());
    QCOMPARE(pool.error(), SharedMemoryPool::NotAttached);
}

void tst_SharedMemoryPool::openAfterDetachSeesData()
{
    SharedMemoryPool pool(uniqueName("reopen"), smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    storeBaseline(&pool);
    pool.detach();

    QVERIFY2(pool.open(), qPrintable(describe(pool)));

    QVERIFY(pool.isAttached());
    verifyBaseline(pool);
    QCOMPARE(pool.stats().attachedProcesses, 1);
}

void tst_SharedMemoryPool::valueChangedIsSignalled()
{
    const QString name = uniqueName("changed");
    SharedMemoryPool listener(name, smallOptions());
    SharedMemoryPool writer(name, smallOptions());
    QVERIFY2(listener.isAttached(), qPrintable(describe(listener)));
    QVERIFY2(writer.isAttached(), qPrintable(describe(writer)));
    QSignalSpy changed(&listener, &SharedMemoryPool::valueChanged);
    QVERIFY(changed.isValid());
    QSignalSpy writerChanged(&writer, &SharedMemoryPool::valueChanged);
    QVERIFY(writerChanged.isValid());

    QVERIFY(writer.set(QStringLiteral("a"), 1));
    QVERIFY(listener.set(QStringLiteral("b"), QStringLiteral("two")));

    QTRY_COMPARE(changed.count(), 2);
    QCOMPARE(changed.at(0).at(0).toString(), QStringLiteral("a"));
    QCOMPARE(changed.at(0).at(1), QVariant(qlonglong(1)));
    QCOMPARE(changed.at(1).at(0).toString(), QStringLiteral("b"));
    QCOMPARE(changed.at(1).at(1), QVariant(QStringLiteral("two")));
    QTRY_COMPARE(writerChanged.count(), 2);
    QVERIFY(!changed.wait(200));
    QCOMPARE(changed.count(), 2);
}

void tst_SharedMemoryPool::valueRemovedIsSignalled()
{
    const QString name = uniqueName("removed");
    SharedMemoryPool listener(name, smallOptions());
    SharedMemoryPool writer(name, smallOptions());
    QVERIFY2(writer.isAttached(), qPrintable(describe(writer)));
    QVERIFY(writer.set(QStringLiteral("k"), 1));
    QSignalSpy removed(&listener, &SharedMemoryPool::valueRemoved);
    QVERIFY(removed.isValid());

    QVERIFY(writer.remove(QStringLiteral("k")));

    QTRY_COMPARE(removed.count(), 1);
    QCOMPARE(removed.at(0).at(0).toString(), QStringLiteral("k"));
}

void tst_SharedMemoryPool::clearedIsSignalled()
{
    const QString name = uniqueName("cleared");
    SharedMemoryPool listener(name, smallOptions());
    SharedMemoryPool writer(name, smallOptions());
    QVERIFY2(writer.isAttached(), qPrintable(describe(writer)));
    QVERIFY(writer.set(QStringLiteral("k"), 1));
    QSignalSpy cleared(&listener, &SharedMemoryPool::cleared);
    QVERIFY(cleared.isValid());
    QSignalSpy removed(&listener, &SharedMemoryPool::valueRemoved);
    QVERIFY(removed.isValid());

    QVERIFY(writer.clear());

    QTRY_COMPARE(cleared.count(), 1);
    QCOMPARE(removed.count(), 0);
    QVERIFY(!listener.contains(QStringLiteral("k")));
}

void tst_SharedMemoryPool::qtSharedMemoryBackingStoresValues()
{
    SharedMemoryPool::Options options = smallOptions();
    options.backing = SharedMemoryPool::QtSharedMemoryBacking;
    const QString name = uniqueName("qsm");
    SharedMemoryPool pool(name, options);
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));

    QVERIFY2(pool.set(QStringLiteral("k"), QStringLiteral("v")), qPrintable(describe(pool)));

    QCOMPARE(pool.value(QStringLiteral("k")), QVariant(QStringLiteral("v")));
    const PoolStats stats = pool.stats();
    QCOMPARE(stats.backing, QStringLiteral("qsharedmemory"));
    QCOMPARE(stats.totalSize, PoolSize);
    QCOMPARE(stats.entryCount, 1);
    QVERIFY2(!SharedMemoryPool::pools().contains(name), "pools() lists only file-backed pools");
}

void tst_SharedMemoryPool::qtSharedMemoryBackingIsShared()
{
    SharedMemoryPool::Options options = smallOptions();
    options.backing = SharedMemoryPool::QtSharedMemoryBacking;
    const QString name = uniqueName("qsmshare");
    SharedMemoryPool first(name, options);
    QVERIFY2(first.isAttached(), qPrintable(describe(first)));
    options.openMode = SharedMemoryPool::AttachOnly;
    SharedMemoryPool second(name, options);
    QVERIFY2(second.isAttached(), qPrintable(describe(second)));
    QSignalSpy changed(&second, &SharedMemoryPool::valueChanged);
    QVERIFY(changed.isValid());

    QVERIFY(first.set(QStringLiteral("from-first"), 1));
    QVERIFY(second.set(QStringLiteral("from-second"), 2));

    QCOMPARE(second.value(QStringLiteral("from-first")), QVariant(qlonglong(1)));
    QCOMPARE(first.value(QStringLiteral("from-second")), QVariant(qlonglong(2)));
    QCOMPARE(first.stats().attachedProcesses, 2);
    QTRY_COMPARE(changed.count(), 2);
}

void tst_SharedMemoryPool::destroyPoolNotifiesOtherObject()
{
    const QString name = uniqueName("destroy");
    SharedMemoryPool destroyer(name, smallOptions());
    SharedMemoryPool other(name, smallOptions());
    QVERIFY2(other.isAttached(), qPrintable(describe(other)));
    const QString path = other.stats().path;
    QSignalSpy destroyed(&other, &SharedMemoryPool::poolDestroyed);
    QVERIFY(destroyed.isValid());
    QSignalSpy errors(&other, &SharedMemoryPool::errorOccurred);
    QVERIFY(errors.isValid());

    QVERIFY2(destroyer.destroyPool(), qPrintable(describe(destroyer)));

    QVERIFY(!destroyer.isAttached());
    QVERIFY(!QFileInfo::exists(path));
    QVERIFY(!SharedMemoryPool::pools().contains(name));
    QVERIFY(destroyed.wait(10000));
    QCOMPARE(destroyed.count(), 1);
    QVERIFY(!other.isAttached());
    QCOMPARE(other.error(), SharedMemoryPool::PoolDestroyed);
    QCOMPARE(errors.count(), 1);
    QCOMPARE(errors.at(0).at(0).value<SharedMemoryPool::Error>(), SharedMemoryPool::PoolDestroyed);
}

void tst_SharedMemoryPool::setAfterDamagedLogHeadFinishes()
{
    // Records of exactly 64 bytes (40-byte header, 2-byte key, 22-byte raw value) tile the
    // 64 KiB ring with no padding, so the stale bytes past the head also parse as records.
    const QString name = uniqueName("loghead");
    const QByteArray value(22, 'v');
    QString path;
    quint64 head = 0;
    {
        SharedMemoryPool pool(name, smallOptions());
        QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
        QCOMPARE(pool.stats().eventLogSize, 64 * 1024);
        for (int i = 0; i < 1100; ++i) {
            QVERIFY2(pool.set(QStringLiteral("k%1").arg(i % 10), value), qPrintable(describe(pool)));
        }
        path = pool.stats().path;
    }

    // Move the head 2^40 bytes on, to the same place in the ring, so that the tail lies 2^40 bytes
    // behind where the next append needs it.
    const qint64 headOffset = qint64(offsetof(layout::Header, log) + offsetof(layout::LogState, head));
    QFile file(path);
    QVERIFY2(file.open(QIODevice::ReadWrite), qPrintable(file.errorString()));
    QVERIFY(file.seek(headOffset));
    QCOMPARE(file.read(reinterpret_cast<char *>(&head), sizeof head), qint64(sizeof head));
    head += quint64(1) << 40;
    QVERIFY(file.seek(headOffset));
    QCOMPARE(file.write(reinterpret_cast<const char *>(&head), sizeof head), qint64(sizeof head));
    file.close();

    SharedMemoryPool pool(name, smallOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    // The set runs on its own thread so that a writer stuck in the log fails this test
    // instead of hanging it. A stuck thread still uses pool, so the test then aborts.
    auto finished = std::make_shared<std::atomic<bool>>(false);
    auto stored = std::make_shared<std::atomic<bool>>(false);
    std::thread([&pool, finished, stored] {
        stored->store(pool.set(QStringLiteral("after"), 1));
        finished->store(true);
    }).detach();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!finished->load() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!finished->load()) {
        qFatal("set() on a pool with a damaged log head did not return within 10 s");
    }
    QVERIFY2(stored->load(), qPrintable(describe(pool)));
    QCOMPARE(pool.value(QStringLiteral("after")).toInt(), 1);
    QCOMPARE(pool.value(QStringLiteral("k3")).toByteArray(), value);
}

void tst_SharedMemoryPool::attachBeyondMaxAttachmentsFails()
{
    const QString name = uniqueName("slots");
    SharedMemoryPool::Options options = smallOptions();
    options.maxAttachments = 1;
    options.lockTimeoutMs = 2000;
    SharedMemoryPool first(name, options);
    QVERIFY2(first.isAttached(), qPrintable(describe(first)));

    {
        SharedMemoryPool second(name, options);
        QVERIFY(!second.isAttached());
        QCOMPARE(second.error(), SharedMemoryPool::ResourceError);
        QVERIFY2(second.errorString().contains(QStringLiteral("attachment slots")),
                 qPrintable(second.errorString()));
    }

    // The rejected attach released the lock: writes and a new attach after a detach work.
    QVERIFY2(first.set(QStringLiteral("k"), 1), qPrintable(describe(first)));
    first.detach();
    SharedMemoryPool third(name, options);
    QVERIFY2(third.isAttached(), qPrintable(describe(third)));
    QCOMPARE(third.value(QStringLiteral("k")).toInt(), 1);
}

QTEST_MAIN(tst_SharedMemoryPool)
void tst_SharedMemoryPool::attachWithoutSlotWhenSlotsAreFull()
{
    const QString name = uniqueName("noslot");
    SharedMemoryPool::Options options = smallOptions();
    options.maxAttachments = 1;
    SharedMemoryPool first(name, options);
    QVERIFY2(first.isAttached(), qPrintable(describe(first)));
    QVERIFY2(first.set(QStringLiteral("k"), 7), qPrintable(describe(first)));

    SharedMemoryPool::Options reader = options;
    reader.openMode = SharedMemoryPool::AttachOnly;
    reader.useProcessSlot = false;
    SharedMemoryPool second(name, reader);
    QVERIFY2(second.isAttached(), qPrintable(describe(second)));
    QCOMPARE(second.value(QStringLiteral("k")), QVariant(qint64(7)));
    QVERIFY2(second.set(QStringLiteral("k"), 8), qPrintable(describe(second)));
    QCOMPARE(first.value(QStringLiteral("k")), QVariant(qint64(8)));
    QCOMPARE(second.stats().attachedProcesses, qint64(1));
}

#include "tst_sharedmemorypool.moc"
