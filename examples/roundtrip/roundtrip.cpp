// SPDX-License-Identifier: MIT
#include "roundtrip.h"

#include <sharedmemorypool.h>

#include <QCoreApplication>
#include <QJsonDocument>
#include <QTextStream>

using mvent::SharedMemoryPool;

namespace roundtrip {

namespace {

const QString writerPidKey = QStringLiteral("writer-pid");
constexpr qint64 tokenTtlMs = 10 * 60 * 1000;

// Formats a value for the terminal, as JSON for maps and lists and as hex for bytes.
QString displayText(const QVariant &value)
{
    switch (value.typeId()) {
    case QMetaType::UnknownType:
        return QStringLiteral("(missing)");
    case QMetaType::QString:
        return u'"' + value.toString() + u'"';
    case QMetaType::QByteArray:
        return QStringLiteral("0x") + QString::fromLatin1(value.toByteArray().toHex());
    case QMetaType::QVariantMap:
    case QMetaType::QVariantList:
        return QString::fromUtf8(QJsonDocument::fromVariant(value).toJson(QJsonDocument::Compact));
    default:
        return value.toString();
    }
}

QString typeName(const QVariant &value)
{
    const char *name = value.metaType().name();
    return name ? QString::fromLatin1(name) : QStringLiteral("none");
}

} // namespace

QList<DemoEntry> demoEntries()
{
    const QVariantMap config {
        { QStringLiteral("name"), QStringLiteral("sensor-7") },
        { QStringLiteral("rateHz"), qint64(50) },
        { QStringLiteral("enabled"), true },
        { QStringLiteral("scale"), 0.25 },
    };
    const QVariantList readings { qint64(3), qint64(1), qint64(4), qint64(1), qint64(5) };

    return {
        { QStringLiteral("config"), config },
        { QStringLiteral("readings"), readings },
        { QStringLiteral("greeting"), QStringLiteral("hello from the writer, UTF-8: π ≈ 3.14") },
        { QStringLiteral("raw-bytes"), QByteArray::fromHex("00017f80ff") },
        { QStringLiteral("session-token"), QStringLiteral("token-5f2a"), tokenTtlMs },
    };
}

int runWriter(const QString &poolName)
{
    QTextStream out(stdout);
    QTextStream err(stderr);

    // A pool kept by an earlier run (--keep) would mix its values with the new ones.
    if (SharedMemoryPool::pools().contains(poolName)) {
        QString message;
        if (!SharedMemoryPool::removePool(poolName, &message)) {
            err << "mvent-roundtrip: failed to remove the old pool " << poolName << ": "
                << message << '\n';
            return 1;
        }
    }

    SharedMemoryPool::Options options;
    options.openMode = SharedMemoryPool::CreateOnly;
    options.size = 1024 * 1024;
    options.maxEntries = 64;
    SharedMemoryPool pool(poolName, options);
    if (!pool.isAttached()) {
        err << "mvent-roundtrip: failed to create pool " << poolName << ": "
            << pool.errorString() << '\n';
        return 1;
    }
    out << "created pool " << poolName << " at " << pool.stats().path << '\n';

    const QList<DemoEntry> entries = demoEntries();
    for (const DemoEntry &entry : entries) {
        if (!pool.set(entry.key, entry.value, entry.ttlMs)) {
            err << "mvent-roundtrip: failed to set " << entry.key << ": " << pool.errorString()
                << '\n';
            return 1;
        }
        out << "  set " << entry.key << " (" << typeName(entry.value) << ") = "
            << displayText(entry.value);
        if (entry.ttlMs > 0) {
            out << ", expires in " << entry.ttlMs / 1000 << " s";
        }
        out << '\n';
    }

    if (!pool.set(writerPidKey, QCoreApplication::applicationPid())) {
        err << "mvent-roundtrip: failed to set " << writerPidKey << ": " << pool.errorString()
            << '\n';
        return 1;
    }
    out << "writer process " << QCoreApplication::applicationPid() << " exits now\n";
    return 0;
}

int runReader(const QString &poolName, bool keepPool)
{
    QTextStream out(stdout);
    QTextStream err(stderr);

    SharedMemoryPool::Options options;
    options.openMode = SharedMemoryPool::AttachOnly;
    SharedMemoryPool pool(poolName, options);
    if (!pool.isAttached()) {
        err << "mvent-roundtrip: failed to open pool " << poolName << ": " << pool.errorString()
            << "\nRun mvent-roundtrip --writer first.\n";
        return 1;
    }
    out << "opened pool " << poolName << " at " << pool.stats().path << ", written by process "
        << pool.value(writerPidKey).toLongLong() << ", read by process "
        << QCoreApplication::applicationPid() << '\n';

    const QList<DemoEntry> entries = demoEntries();
    int matchCount = 0;
    for (const DemoEntry &entry : entries) {
        const QVariant actual = pool.value(entry.key);
        const bool matched = actual.isValid() && actual == entry.value;
        if (matched) {
            ++matchCount;
        }

        out << "  " << entry.key << " (" << typeName(actual) << ") = " << displayText(actual)
            << (matched ? "  [match]" : "  [MISMATCH]") << '\n';
        if (!matched) {
            out << "    expected (" << typeName(entry.value) << ") " << displayText(entry.value)
                << '\n';
        }
    }
    out << matchCount << " of " << entries.size() << " values matched\n";
    // The library logs to stderr, which is unbuffered, so print the results before it logs.
    out.flush();

    if (keepPool) {
        out << "the pool stays in " << SharedMemoryPool::runtimeDirectory()
            << " until the next writer run replaces it\n";
    } else if (!pool.destroyPool()) {
        err << "mvent-roundtrip: failed to remove pool " << poolName << ": "
            << pool.errorString() << '\n';
        return 1;
    }
    return matchCount == entries.size() ? 0 : 1;
}

} // namespace roundtrip
