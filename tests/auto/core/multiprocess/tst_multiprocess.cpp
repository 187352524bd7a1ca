// SPDX-License-Identifier: MIT
#include "churnvalue.h"
#include "sharedmemorypool.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QHash>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSet>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <memory>
#include <thread>

using mvent::PoolStats;
using mvent::SharedMemoryPool;

namespace {

// Bound on waiting for a helper, so that a hang fails the test instead of stalling CTest. It is
// no performance expectation.
constexpr int HangGuardMs = 60000;
constexpr qint64 PoolSize = 256 * 1024;
constexpr int PoolEntries = 512;

SharedMemoryPool::Options poolOptions()
{
    SharedMemoryPool::Options options;
    options.size = PoolSize;
    options.maxEntries = PoolEntries;
    options.maxAttachments = 32;
    options.lockTimeoutMs = 5000;
    return options;
}

QString describe(const SharedMemoryPool &pool)
{
    return QStringLiteral("error %1: %2").arg(int(pool.error())).arg(pool.errorString());
}

// Starts pool-worker with args. The caller owns the process.
std::unique_ptr<QProcess> startWorker(const QStringList &args)
{
    auto process = std::make_unique<QProcess>();
    process->setProgram(QStringLiteral(MVENT_HELPER_POOL_WORKER));
    process->setArguments(args);
    process->start();
    return process;
}

// Waits for one complete line from process and returns it, or an empty string at exit.
QString readLine(QProcess *process)
{
    while (!process->canReadLine()) {
        if (process->state() == QProcess::NotRunning || !process->waitForReadyRead(HangGuardMs)) {
            if (process->canReadLine()) {
                break;
            }
            return QString();
        }
    }
    return QString::fromUtf8(process->readLine()).trimmed();
}

// Waits for the worker to exit and returns the rest of its output as lines.
QStringList finishWorker(QProcess *process)
{
    process->closeWriteChannel();
    process->waitForFinished(HangGuardMs);
    const QString rest = QString::fromUtf8(process->readAllStandardOutput());
    return rest.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

int countLines(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return -1;
    }
    return file.readAll().count('\n');
}

} // namespace

class tst_MultiProcess : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();

    void concurrentWritersLoseNoUpdate();
    void valueOutlivesWriterProcess();
    void valueChangedReachesOtherProcess();
    void stuckLockSparesOtherPools();
    void killedLockHolderReportsMissedChange();
    void killedWritersLeavePoolConsistent();
    void killedCreatorsLeaveNoLeftovers();
    void similarNamesNeverShareData();
    void existingPoolKeepsSizeInOtherProcess();

private:
    QString uniqueName(const char *tag);

    std::unique_ptr<QTemporaryDir> m_runtimeDir;
    QStringList m_names;
    int m_counter = 0;
};

void tst_MultiProcess::initTestCase()
{
    if (qEnvironmentVariableIsEmpty("MVENT_RUNTIME_DIR")) {
        m_runtimeDir = std::make_unique<QTemporaryDir>();
        QVERIFY2(m_runtimeDir->isValid(), qPrintable(m_runtimeDir->errorString()));
        qputenv("MVENT_RUNTIME_DIR", QFile::encodeName(m_runtimeDir->path()));
    }
}

void tst_MultiProcess::cleanup()
{
    for (const QString &name : std::as_const(m_names)) {
        SharedMemoryPool::removePool(name);
    }
    m_names.clear();
}

QString tst_MultiProcess::uniqueName(const char *tag)
{
    const QString name = QStringLiteral("mp-%1-%2-%3")
                                 .arg(QLatin1String(tag))
                                 .arg(QCoreApplication::applicationPid())
                                 .arg(++m_counter);
    m_names.append(name);
    return name;
}

void tst_MultiProcess::concurrentWritersLoseNoUpdate()
{
    constexpr int Writers = 4;
    constexpr int KeysPerWriter = 100;
    constexpr int Rounds = 3;
    const QString name = uniqueName("writers");

    std::vector<std::unique_ptr<QProcess>> workers;
    for (int id = 0; id < Writers; ++id) {
        workers.push_back(startWorker({QStringLiteral("write"), name, QString::number(id),
                                       QString::number(KeysPerWriter), QString::number(Rounds)}));
    }
    for (auto &worker : workers) {
        QCOMPARE(readLine(worker.get()), QStringLiteral("ready"));
    }
    // Start all writers at once, so that their writes interleave.
    for (auto &worker : workers) {
        worker->write("go\n");
    }
    for (int id = 0; id < Writers; ++id) {
        QCOMPARE(readLine(workers[id].get()), QStringLiteral("done"));
        finishWorker(workers[id].get());
        QCOMPARE(workers[id]->exitStatus(), QProcess::NormalExit);
        QCOMPARE(workers[id]->exitCode(), 0);
    }

    SharedMemoryPool pool(name, poolOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    for (int id = 0; id < Writers; ++id) {
        QCOMPARE(pool.value(QStringLiteral("count-%1").arg(id)),
                 QVariant(qlonglong(KeysPerWriter * Rounds)));
        for (int i = 0; i < KeysPerWriter; ++i) {
            QCOMPARE(pool.value(QStringLiteral("w%1-k%2").arg(id).arg(i)),
                     QVariant(QStringLiteral("%1:%2:%3").arg(id).arg(i).arg(Rounds - 1)));
        }
    }
    const QRegularExpression lastRound(QStringLiteral("^[0-3]:(\\d+):%1$").arg(Rounds - 1));
    for (int j = 0; j < 10; ++j) {
        const QString shared = pool.value(QStringLiteral("shared-%1").arg(j)).toString();
        const QRegularExpressionMatch match = lastRound.match(shared);
        QVERIFY2(match.hasMatch(), qPrintable(shared));
        QCOMPARE(match.captured(1).toInt() % 10, j);
    }
    const PoolStats stats = pool.stats();
    QCOMPARE(stats.entryCount, qint64(Writers * KeysPerWriter + Writers + 10));
    QCOMPARE(stats.usedBytes + stats.freeBytes, stats.heapSize);
    QCOMPARE(stats.recoveries, quint64(0));
}

void tst_MultiProcess::valueOutlivesWriterProcess()
{
    const QString name = uniqueName("outlive");

    auto writer = startWorker({QStringLiteral("set"), name, QStringLiteral("greeting"),
                               QStringLiteral("hello from a process that exited")});
    QCOMPARE(readLine(writer.get()), QStringLiteral("stored"));
    finishWorker(writer.get());
    QCOMPARE(writer->exitCode(), 0);

    auto reader = startWorker({QStringLiteral("get"), name, QStringLiteral("greeting")});
    QCOMPARE(readLine(reader.get()), QStringLiteral("value hello from a process that exited"));
    finishWorker(reader.get());
    QCOMPARE(reader->exitCode(), 0);
}

void tst_MultiProcess::valueChangedReachesOtherProcess()
{
    const QString name = uniqueName("listen");
    SharedMemoryPool pool(name, poolOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    auto listener = startWorker({QStringLiteral("listen"), name});
    QCOMPARE(readLine(listener.get()), QStringLiteral("ready"));

    QVERIFY(pool.set(QStringLiteral("temperature"), 21.5));
    QVERIFY(pool.set(QStringLiteral("label"), QStringLiteral("kitchen")));
    QVERIFY(pool.remove(QStringLiteral("label")));
    auto otherWriter = startWorker({QStringLiteral("set"), name, QStringLiteral("from-child"),
                                    QStringLiteral("x")});
    QCOMPARE(readLine(otherWriter.get()), QStringLiteral("stored"));
    finishWorker(otherWriter.get());
    QVERIFY(pool.clear());
    QVERIFY(pool.set(QStringLiteral("quit"), 1));

    QCOMPARE(readLine(listener.get()), QStringLiteral("changed temperature 21.5"));
    QCOMPARE(readLine(listener.get()), QStringLiteral("changed label kitchen"));
    QCOMPARE(readLine(listener.get()), QStringLiteral("removed label"));
    QCOMPARE(readLine(listener.get()), QStringLiteral("changed from-child x"));
    QCOMPARE(readLine(listener.get()), QStringLiteral("cleared"));
    QCOMPARE(readLine(listener.get()), QStringLiteral("changed quit 1"));
    const QStringList rest = finishWorker(listener.get());
    QVERIFY2(rest.isEmpty(), qPrintable(rest.join(QLatin1Char('\n'))));
    QCOMPARE(listener->exitStatus(), QProcess::NormalExit);
    QCOMPARE(listener->exitCode(), 0);
}

void tst_MultiProcess::stuckLockSparesOtherPools()
{
    // One maintenance thread serves every pool of a process. A writer stuck with the lock of
    // pool A must not keep it from waking listeners and closing objects on pool B. A's lock
    // timeout is far longer than the test's wait, so waiting for it would fail the test.
    SharedMemoryPool::Options stuckOptions = poolOptions();
    stuckOptions.lockTimeoutMs = 600000;
    const QString stuckName = uniqueName("stuck");
    SharedMemoryPool stuck(stuckName, stuckOptions);
    QVERIFY2(stuck.isAttached(), qPrintable(describe(stuck)));
    // An expiring entry makes every tick try A's lock.
    QVERIFY(stuck.set(QStringLiteral("short"), 1, 100));
    auto holder = startWorker({QStringLiteral("hold-lock"), stuckName});
    QCOMPARE(readLine(holder.get()), QStringLiteral("locked"));

    const QString freeName = uniqueName("free");
    SharedMemoryPool listener(freeName, poolOptions());
    QVERIFY2(listener.isAttached(), qPrintable(describe(listener)));
    QSignalSpy changed(&listener, &SharedMemoryPool::valueChanged);
    QVERIFY(changed.isValid());
    QCoreApplication::processEvents(); // starts listening
    QTest::qWait(2500); // lets ticks run into the stuck lock

    // A new process rings this listener for the first time, and the maintenance thread must
    // accept that connection.
    auto writer = startWorker({QStringLiteral("set"), freeName, QStringLiteral("k"),
                               QStringLiteral("v")});
    QCOMPARE(readLine(writer.get()), QStringLiteral("stored"));
    finishWorker(writer.get());
    QTRY_COMPARE_WITH_TIMEOUT(changed.count(), 1, 60000);

    // Closing an object removes its maintenance task, which waits for a running tick.
    std::atomic<bool> closed = false;
    std::thread closer([&] {
        SharedMemoryPool other(freeName, poolOptions());
        other.detach();
        closed = true;
    });
    QTRY_VERIFY_WITH_TIMEOUT(closed.load(), 60000);
    closer.join();

    holder->write("release\n");
    const QStringList rest = finishWorker(holder.get());
    QVERIFY2(rest.isEmpty(), qPrintable(rest.join(QLatin1Char('\n'))));
    QCOMPARE(holder->exitCode(), 0);
}

void tst_MultiProcess::killedLockHolderReportsMissedChange()
{
    // A writer killed while it holds the lock may have changed a value without logging it.
    // Listeners must hear of a possibly missed change rather than nothing.
    const QString name = uniqueName("missedchange");
    SharedMemoryPool listener(name, poolOptions());
    QVERIFY2(listener.isAttached(), qPrintable(describe(listener)));
    QSignalSpy changed(&listener, &SharedMemoryPool::valueChanged);
    QSignalSpy missed(&listener, &SharedMemoryPool::changesMissed);
    QVERIFY(changed.isValid());
    QVERIFY(missed.isValid());
    QCoreApplication::processEvents(); // starts listening

    auto holder = startWorker({QStringLiteral("hold-lock"), name});
    QCOMPARE(readLine(holder.get()), QStringLiteral("locked"));
    holder->kill();
    QVERIFY(holder->waitForFinished(HangGuardMs));

    SharedMemoryPool writer(name, poolOptions());
    QVERIFY2(writer.isAttached(), qPrintable(describe(writer)));
    QVERIFY2(writer.set(QStringLiteral("after"), 1), qPrintable(describe(writer)));
    QTRY_COMPARE(changed.count(), 1);
    QCOMPARE(missed.count(), 1);
    QCOMPARE(missed.at(0).at(0).toULongLong(), 1u);
    QCOMPARE(changed.at(0).at(0).toString(), QStringLiteral("after"));
}

void tst_MultiProcess::killedWritersLeavePoolConsistent()
{
    constexpr int Iterations = 400;
    const QString name = uniqueName("churn");
    SharedMemoryPool pool(name, poolOptions());
    QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    QRandomGenerator random(20240601);

    // Version of each key as the writers reported it. Removed keys are absent.
    QHash<QString, quint64> model;
    int killedWithOutput = 0;

    for (int iteration = 0; iteration < Iterations; ++iteration) {
        const int writers = iteration % 4 == 3 ? 2 : 1;
        const quint64 firstVersion = quint64(iteration + 1) * 10000000;
        std::vector<std::unique_ptr<QProcess>> workers;
        for (int id = 0; id < writers; ++id) {
            workers.push_back(startWorker({QStringLiteral("churn"), name, QString::number(id),
                                           QString::number(firstVersion),
                                           QString::number(random.generate())}));
        }

        // Kill each writer after a random number of reported operations, zero included.
        QStringList lines;
        for (auto &worker : workers) {
            QVERIFY2(worker->waitForStarted(HangGuardMs), qPrintable(worker->errorString()));
            const int operations = random.bounded(4) == 0 ? 0 : random.bounded(1, 300);
            for (int done = 0; done < operations; ++done) {
                const QString line = readLine(worker.get());
                if (line.isEmpty()) {
                    break;
                }
                lines.append(line);
            }
            worker->kill();
        }
        for (auto &worker : workers) {
            lines += finishWorker(worker.get());
            QCOMPARE(worker->exitStatus(), QProcess::CrashExit);
        }
        killedWithOutput += lines.isEmpty() ? 0 : 1;

        // Replay the reported operations. Each writer may have done one more, unreported, before
        // the kill.
        quint64 maxReported[2] = {firstVersion, firstVersion};
        for (const QString &line : std::as_const(lines)) {
            const QStringList parts = line.split(QLatin1Char(' '));
            QVERIFY2(!line.startsWith(QLatin1String("error")),
                     qPrintable(QStringLiteral("iteration %1: writer failed: %2").arg(iteration).arg(line)));
            if (parts.value(0) == QLatin1String("set") && parts.size() == 3) {
                const quint64 version = parts.at(2).toULongLong();
                model.insert(parts.at(1), version);
                const int id = parts.at(1).mid(1, 1).toInt();
                maxReported[id] = qMax(maxReported[id], version);
            } else if (parts.value(0) == QLatin1String("removed") && parts.size() == 2) {
                model.remove(parts.at(1));
            } else {
                QFAIL(qPrintable(QStringLiteral("iteration %1: unexpected line '%2'").arg(iteration).arg(line)));
            }
        }

        const QStringList keys = pool.keys();
        QCOMPARE(pool.error(), SharedMemoryPool::NoError);
        QHash<QString, quint64> actual;
        for (const QString &key : keys) {
            const QVariant value = pool.value(key);
            QVERIFY2(pool.error() == SharedMemoryPool::NoError, qPrintable(describe(pool)));
            QCOMPARE(value.metaType().id(), int(QMetaType::QByteArray));
            quint64 version = 0;
            QString problem;
            QVERIFY2(churn::parseValue(value.toByteArray(), key, &version, &problem),
                     qPrintable(QStringLiteral("iteration %1, key %2: %3").arg(iteration).arg(key, problem)));
            actual.insert(key, version);
        }

        int deviations[2] = {0, 0};
        QSet<QString> allKeys(keys.cbegin(), keys.cend());
        for (auto it = model.cbegin(); it != model.cend(); ++it) {
            allKeys.insert(it.key());
        }
        for (const QString &key : std::as_const(allKeys)) {
            const int id = key.mid(1, 1).toInt();
            const bool inModel = model.contains(key);
            const bool inPool = actual.contains(key);
            if (inModel && inPool && model.value(key) == actual.value(key)) {
                continue;
            }
            ++deviations[id];
            // A set committed before the kill is never lost, except to a later operation.
            if (inPool) {
                QVERIFY2(actual.value(key) > maxReported[id],
                         qPrintable(QStringLiteral("iteration %1, key %2: pool has version %3, "
                                                   "writer reported %4")
                                            .arg(iteration)
                                            .arg(key)
                                            .arg(actual.value(key))
                                            .arg(model.value(key))));
            }
        }
        for (int id = 0; id < 2; ++id) {
            QVERIFY2(deviations[id] <= 1,
                     qPrintable(QStringLiteral("iteration %1: %2 keys of writer %3 differ from its "
                                               "reported operations")
                                        .arg(iteration)
                                        .arg(deviations[id])
                                        .arg(id)));
        }
        model = actual;

        const PoolStats stats = pool.stats();
        QCOMPARE(stats.usedBytes + stats.freeBytes, stats.heapSize);
        QCOMPARE(stats.entryCount, qint64(keys.size()));
        QVERIFY2(pool.set(QStringLiteral("probe"), iteration), qPrintable(describe(pool)));
        QCOMPARE(pool.value(QStringLiteral("probe")), QVariant(qlonglong(iteration)));
        QVERIFY2(pool.remove(QStringLiteral("probe")), qPrintable(describe(pool)));
    }

    QVERIFY2(killedWithOutput > Iterations / 2, "most writers should report operations before the kill");
    const PoolStats stats = pool.stats();
    QCOMPARE(stats.usedBytes + stats.freeBytes, stats.heapSize);
    qInfo("pool %s: %llu recoveries after %d killed writer runs", qPrintable(name),
          stats.recoveries, Iterations);
}

void tst_MultiProcess::killedCreatorsLeaveNoLeftovers()
{
    constexpr int Iterations = 200;
    const QStringList fileNames = {uniqueName("create"), uniqueName("create"), uniqueName("create")};
    const QStringList qsmNames = {uniqueName("createqsm"), uniqueName("createqsm")};
    const int shmBefore = countLines(QStringLiteral("/proc/sysvipc/shm"));
    const int semBefore = countLines(QStringLiteral("/proc/sysvipc/sem"));
    QRandomGenerator random(4711);

    for (int iteration = 0; iteration < Iterations; ++iteration) {
        const bool qsm = iteration % 5 >= 3;
        const QString name = qsm ? qsmNames.at(iteration % 5 - 3) : fileNames.at(iteration % 5);
        if (!qsm && random.bounded(2) == 0) {
            SharedMemoryPool::removePool(name);
        }
        auto creator = startWorker({QStringLiteral("create"), name,
                                    qsm ? QStringLiteral("qsharedmemory") : QStringLiteral("file")});
        QVERIFY2(creator->waitForStarted(HangGuardMs), qPrintable(creator->errorString()));

        // Kill at once, after some event-loop turns, or once the pool exists.
        switch (random.bounded(3)) {
        case 0:
            break;
        case 1:
            for (int turns = random.bounded(1, 50); turns > 0; --turns) {
                QCoreApplication::processEvents();
            }
            break;
        default: {
            const QString line = readLine(creator.get());
            QVERIFY2(line == QLatin1String("created"),
                     qPrintable(QStringLiteral("iteration %1, pool %2: %3").arg(iteration).arg(name, line)));
        }
        }
        creator->kill();
        QVERIFY(creator->waitForFinished(HangGuardMs));
    }

    // A later create of each name still works and clears the temporaries of dead creators.
    for (const QString &name : fileNames) {
        SharedMemoryPool::removePool(name);
        SharedMemoryPool pool(name, poolOptions());
        QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
    }
    for (const QString &name : qsmNames) {
        SharedMemoryPool::Options options = poolOptions();
        options.backing = SharedMemoryPool::QtSharedMemoryBacking;
        SharedMemoryPool pool(name, options);
        QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
        QVERIFY(pool.set(QStringLiteral("k"), 1));
    }

    QSet<QString> allowed;
    for (const QString &name : fileNames) {
        allowed.insert(name + QStringLiteral(".pool"));
    }
    for (const QString &name : qsmNames) {
        allowed.insert(name + QStringLiteral(".qsm"));
    }
    const QStringList files = QDir(SharedMemoryPool::runtimeDirectory())
                                      .entryList(QDir::Files | QDir::Hidden | QDir::System);
    for (const QString &file : files) {
        if (!file.contains(QStringLiteral("-create"))) {
            continue; // another test's pool in a shared runtime directory
        }
        QVERIFY2(allowed.contains(file), qPrintable(QStringLiteral("leftover file %1").arg(file)));
    }

    // Killed QSharedMemory creators may leave their SysV segment and semaphore behind, but
    // only one of each per name, because the next creator reuses them.
    const int slack = 2 * int(qsmNames.size()) + 2;
    const int shmAfter = countLines(QStringLiteral("/proc/sysvipc/shm"));
    const int semAfter = countLines(QStringLiteral("/proc/sysvipc/sem"));
    QVERIFY2(shmAfter - shmBefore <= slack,
             qPrintable(QStringLiteral("SysV segments grew from %1 to %2").arg(shmBefore).arg(shmAfter)));
    QVERIFY2(semAfter - semBefore <= slack,
             qPrintable(QStringLiteral("SysV semaphores grew from %1 to %2").arg(semBefore).arg(semAfter)));
}

void tst_MultiProcess::similarNamesNeverShareData()
{
    // 256 names that each differ from the base name in exactly one of its last four characters.
    const QString alphabet = QStringLiteral(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
    const QString base = QStringLiteral("mp-similar-%1-aaaa").arg(QCoreApplication::applicationPid());
    QStringList names;
    for (int position = 0; position < 4; ++position) {
        for (const QChar c : alphabet) {
            if (c == QLatin1Char('a')) {
                continue;
            }
            QString name = base;
            name[base.size() - 4 + position] = c;
            names.append(name);
        }
    }
    QCOMPARE(names.size(), 256);
    m_names += names;

    SharedMemoryPool::Options options;
    options.size = 64 * 1024;
    options.maxEntries = 16;
    options.maxAttachments = 4;
    std::vector<std::unique_ptr<SharedMemoryPool>> pools;
    for (const QString &name : std::as_const(names)) {
        pools.push_back(std::make_unique<SharedMemoryPool>(name, options));
        QVERIFY2(pools.back()->isAttached(), qPrintable(describe(*pools.back())));
        QVERIFY(pools.back()->set(QStringLiteral("owner"), name));
    }
    for (size_t i = 0; i < pools.size(); ++i) {
        QCOMPARE(pools[i]->value(QStringLiteral("owner")).toString(), names.at(qsizetype(i)));
        QCOMPARE(pools[i]->stats().entryCount, 1);
    }
    pools.clear();

    auto verifier = startWorker({QStringLiteral("verify-names")});
    verifier->write(names.join(QLatin1Char('\n')).toUtf8() + '\n');
    const QStringList output = finishWorker(verifier.get());
    QCOMPARE(verifier->exitCode(), 0);
    QCOMPARE(output, QStringList{QStringLiteral("checked 256")});
}

void tst_MultiProcess::existingPoolKeepsSizeInOtherProcess()
{
    const QString name = uniqueName("size");
    {
        SharedMemoryPool pool(name, poolOptions());
        QVERIFY2(pool.isAttached(), qPrintable(describe(pool)));
        QVERIFY(pool.set(QStringLiteral("a"), QStringLiteral("first")));
        QVERIFY(pool.set(QStringLiteral("b"), 2));
    }

    auto inspector = startWorker({QStringLiteral("inspect"), name, QString::number(4 * 1024 * 1024)});
    const QStringList output = finishWorker(inspector.get());

    QCOMPARE(inspector->exitCode(), 0);
    const QStringList expected = {QStringLiteral("totalSize %1").arg(PoolSize),
                                  QStringLiteral("maxEntries %1").arg(PoolEntries),
                                  QStringLiteral("value a first"), QStringLiteral("value b 2")};
    QCOMPARE(output, expected);
}

QTEST_MAIN(tst_MultiProcess)
#include "tst_multiprocess.moc"
