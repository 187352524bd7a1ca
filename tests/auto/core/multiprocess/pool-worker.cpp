// SPDX-License-Identifier: MIT
// Helper for tst_multiprocess: opens a pool and performs one mode of work, reporting on
// stdout one line per step, flushed at once so that a test that kills the worker still
// reads every line it wrote. Usage: pool-worker MODE ARGS..., modes as in main() below.

#include "churnvalue.h"

#include <layout_p.h>
#include <runtimedir_p.h>
#include <sharedmemorypool.h>

#include <QCoreApplication>
#include <QFile>
#include <QMetaEnum>
#include <QRandomGenerator>

#include <algorithm>
#include <cstdio>

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

using mvent::SharedMemoryPool;

namespace {

void printLine(const QString &line)
{
    const QByteArray bytes = line.toUtf8() + '\n';
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stdout);
    std::fflush(stdout);
}

QString describeError(const SharedMemoryPool &pool)
{
    const QMetaEnum errors = QMetaEnum::fromType<SharedMemoryPool::Error>();
    return QStringLiteral("error %1 %2")
            .arg(QLatin1String(errors.valueToKey(pool.error())), pool.errorString());
}

SharedMemoryPool::Options workerOptions()
{
    SharedMemoryPool::Options options;
    options.size = 256 * 1024;
    options.maxEntries = 512;
    options.maxAttachments = 32;
    options.lockTimeoutMs = 5000;
    return options;
}

// Blocks until stdin has a line. Returns false at end of input.
bool waitForStdinLine()
{
    QFile input;
    if (!input.open(stdin, QIODevice::ReadOnly)) {
        return false;
    }
    return !input.readLine().isEmpty();
}

// Prints "ready", waits for a line on stdin, then writes COUNT own keys ROUNDS times, each
// round also incrementing the worker's own counter key and overwriting shared keys.
int runWrite(const QStringList &args)
{
    const QString id = args.value(1);
    const int count = args.value(2).toInt();
    const int rounds = args.value(3).toInt();
    SharedMemoryPool pool(args.value(0), workerOptions());
    if (!pool.isAttached()) {
        printLine(describeError(pool));
        return 3;
    }
    printLine(QStringLiteral("ready"));
    if (!waitForStdinLine()) {
        return 4;
    }

    const QString counterKey = QStringLiteral("count-%1").arg(id);
    for (int round = 0; round < rounds; ++round) {
        for (int i = 0; i < count; ++i) {
            const QString text = QStringLiteral("%1:%2:%3").arg(id).arg(i).arg(round);
            const qlonglong counter = pool.value(counterKey, 0).toLongLong();
            if (!pool.set(QStringLiteral("w%1-k%2").arg(id).arg(i), text)
                || !pool.set(counterKey, counter + 1)
                || !pool.set(QStringLiteral("shared-%1").arg(i % 10), text)) {
                printLine(describeError(pool));
                return 3;
            }
        }
    }
    printLine(QStringLiteral("done"));
    return 0;
}

int runSet(const QStringList &args)
{
    SharedMemoryPool pool(args.value(0), workerOptions());
    if (!pool.isAttached() || !pool.set(args.value(1), args.value(2))) {
        printLine(describeError(pool));
        return 3;
    }
    printLine(QStringLiteral("stored"));
    return 0;
}

int runGet(const QStringList &args)
{
    SharedMemoryPool::Options options = workerOptions();
    options.openMode = SharedMemoryPool::AttachOnly;
    SharedMemoryPool pool(args.value(0), options);
    if (!pool.isAttached()) {
        printLine(describeError(pool));
        return 3;
    }
    const QVariant value = pool.value(args.value(1));
    printLine(value.isValid() ? QStringLiteral("value %1").arg(value.toString())
                              : QStringLiteral("missing"));
    return 0;
}

// Prints "ready" once listening, then one line per change. Exits when key "quit" changes.
int runListen(QCoreApplication &app, const QStringList &args)
{
    SharedMemoryPool pool(args.value(0), workerOptions());
    if (!pool.isAttached()) {
        printLine(describeError(pool));
        return 3;
    }
    QObject::connect(&pool, &SharedMemoryPool::valueChanged, &app,
                     [&app](const QString &key, const QVariant &value) {
                         printLine(QStringLiteral("changed %1 %2").arg(key, value.toString()));
                         if (key == QLatin1String("quit")) {
                             app.quit();
                         }
                     });
    QObject::connect(&pool, &SharedMemoryPool::valueRemoved, &app, [](const QString &key) {
        printLine(QStringLiteral("removed %1").arg(key));
    });
    QObject::connect(&pool, &SharedMemoryPool::cleared, &app, [] {
        printLine(QStringLiteral("cleared"));
    });
    printLine(QStringLiteral("ready"));
    return app.exec();
}

// Writes, replaces and removes the keys w<ID>-0..w<ID>-31 until killed, with versions
// counting up from FIRST_VERSION. Prints "set KEY VERSION" or "removed KEY" after each
// operation returns, and "error ..." before exiting on any failure other than a full pool.
int runChurn(const QStringList &args)
{
    const QString id = args.value(1);
    quint64 version = args.value(2).toULongLong();
    QRandomGenerator random(args.value(3).toUInt());
    SharedMemoryPool pool(args.value(0), workerOptions());
    if (!pool.isAttached()) {
        printLine(describeError(pool));
        return 3;
    }

    auto removeKey = [&](const QString &key) {
        pool.remove(key);
        if (pool.error() != SharedMemoryPool::NoError) {
            printLine(describeError(pool));
            return false;
        }
        printLine(QStringLiteral("removed %1").arg(key));
        return true;
    };
    for (;;) {
        ++version;
        const QString key = QStringLiteral("w%1-%2").arg(id).arg(random.bounded(32));
        if (random.bounded(100) < 75) {
            const qsizetype size = random.bounded(8) == 0 ? 0 : random.bounded(4000);
            if (pool.set(key, churn::makeValue(key, version, size))) {
                printLine(QStringLiteral("set %1 %2").arg(key).arg(version));
                continue;
            }
            if (pool.error() != SharedMemoryPool::PoolFull) {
                printLine(describeError(pool));
                return 3;
            }
            if (!removeKey(QStringLiteral("w%1-%2").arg(id).arg(random.bounded(32)))) {
                return 3;
            }
        } else if (!removeKey(key)) {
            return 3;
        }
    }
}

// Opens the pool, prints "created" or the error, then waits for the end of stdin.
int runCreate(const QStringList &args)
{
    SharedMemoryPool::Options options = workerOptions();
    if (args.value(1) == QLatin1String("qsharedmemory")) {
        options.backing = SharedMemoryPool::QtSharedMemoryBacking;
    }
    SharedMemoryPool pool(args.value(0), options);
    if (!pool.isAttached()) {
        printLine(describeError(pool));
        return 3;
    }
    printLine(QStringLiteral("created"));
    while (waitForStdinLine()) {
    }
    return 0;
}

// Reads pool names from stdin and checks that key "owner" of each equals the pool's name.
int runVerifyNames()
{
    QFile input;
    if (!input.open(stdin, QIODevice::ReadOnly)) {
        return 4;
    }
    SharedMemoryPool::Options options = workerOptions();
    options.openMode = SharedMemoryPool::AttachOnly;
    int checked = 0;
    for (QByteArray line = input.readLine(); !line.isEmpty(); line = input.readLine()) {
        const QString name = QString::fromUtf8(line.trimmed());
        SharedMemoryPool pool(name, options);
        const QString owner = pool.value(QStringLiteral("owner")).toString();
        if (!pool.isAttached()) {
            printLine(QStringLiteral("missing %1 %2").arg(name, describeError(pool)));
        } else if (owner != name) {
            printLine(QStringLiteral("mismatch %1 %2").arg(name, owner));
        }
        ++checked;
    }
    printLine(QStringLiteral("checked %1").arg(checked));
    return 0;
}

// Opens the pool requesting SIZE bytes and prints its real figures and every key's value.
int runInspect(const QStringList &args)
{
    SharedMemoryPool::Options options = workerOptions();
    options.size = args.value(1).toLongLong();
    options.maxEntries = 64;
    SharedMemoryPool pool(args.value(0), options);
    if (!pool.isAttached()) {
        printLine(describeError(pool));
        return 3;
    }
    printLine(QStringLiteral("totalSize %1").arg(pool.stats().totalSize));
    printLine(QStringLiteral("maxEntries %1").arg(pool.stats().maxEntries));
    QStringList keys = pool.keys();
    std::sort(keys.begin(), keys.end());
    for (const QString &key : std::as_const(keys)) {
        printLine(QStringLiteral("value %1 %2").arg(key, pool.value(key).toString()));
    }
    return 0;
}

// Takes the writer lock of pool NAME directly in the mapped file, prints "locked", and keeps
// it until stdin has a line or closes: a writer that stalls while holding the lock.
int runHoldLock(const QStringList &args)
{
    const QByteArray path = QFile::encodeName(mvent::segmentFilePath(args.value(0)));
    const int fd = ::open(path.constData(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        printLine(QStringLiteral("error cannot open %1").arg(QString::fromLocal8Bit(path)));
        return 1;
    }
    void *memory = ::mmap(nullptr, mvent::layout::HeaderSize, PROT_READ | PROT_WRITE, MAP_SHARED,
                          fd, 0);
    if (memory == MAP_FAILED) {
        printLine(QStringLiteral("error cannot map %1").arg(QString::fromLocal8Bit(path)));
        return 1;
    }
    auto *header = static_cast<mvent::layout::Header *>(memory);
    if (::pthread_mutex_lock(&header->lock) != 0) {
        printLine(QStringLiteral("error cannot lock"));
        return 1;
    }
    printLine(QStringLiteral("locked"));
    waitForStdinLine();
    ::pthread_mutex_unlock(&header->lock);
    return 0;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList arguments = app.arguments().mid(1);
    const QString mode = arguments.value(0);
    const QStringList args = arguments.mid(1);

    if (mode == QLatin1String("write") && args.size() == 4) {
        return runWrite(args); // NAME ID COUNT ROUNDS
    }
    if (mode == QLatin1String("set") && args.size() == 3) {
        return runSet(args); // NAME KEY VALUE
    }
    if (mode == QLatin1String("get") && args.size() == 2) {
        return runGet(args); // NAME KEY
    }
    if (mode == QLatin1String("listen") && args.size() == 1) {
        return runListen(app, args); // NAME
    }
    if (mode == QLatin1String("churn") && args.size() == 4) {
        return runChurn(args); // NAME ID FIRST_VERSION SEED
    }
    if (mode == QLatin1String("create") && args.size() == 2) {
        return runCreate(args); // NAME file|qsharedmemory
    }
    if (mode == QLatin1String("verify-names") && args.isEmpty()) {
        return runVerifyNames();
    }
    if (mode == QLatin1String("inspect") && args.size() == 2) {
        return runInspect(args); // NAME SIZE
    }
    if (mode == QLatin1String("hold-lock") && args.size() == 1) {
        return runHoldLock(args); // NAME
    }
    printLine(QStringLiteral("usage: pool-worker write|set|get|listen|churn|create|verify-names|"
                             "inspect|hold-lock ARGS..."));
    return 2;
}
