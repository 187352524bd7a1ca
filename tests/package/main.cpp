// SPDX-License-Identifier: MIT
// Creates a pool through the installed mvent package, sets a value and reads it back.
// Exits with 0 when the value matches.
#include <sharedmemorypool.h>

#include <QCoreApplication>
#include <QTextStream>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QTextStream err(stderr);

    // The process id keeps parallel runs of this test apart.
    const QString poolName = QStringLiteral("package-consumer-%1")
                                     .arg(QCoreApplication::applicationPid());
    mvent::SharedMemoryPool::Options options;
    options.openMode = mvent::SharedMemoryPool::CreateOnly;
    options.size = 256 * 1024;
    mvent::SharedMemoryPool pool(poolName, options);
    if (!pool.isAttached()) {
        err << "failed to create pool " << poolName << ": " << pool.errorString() << '\n';
        return 1;
    }

    const QString key = QStringLiteral("greeting");
    const QString expected = QStringLiteral("hello from the installed package");
    if (!pool.set(key, expected)) {
        err << "failed to set " << key << ": " << pool.errorString() << '\n';
        pool.destroyPool();
        return 1;
    }

    const QVariant actual = pool.value(key);
    pool.destroyPool();
    if (actual != QVariant(expected)) {
        const char *typeName = actual.isValid() ? actual.metaType().name() : "none";
        err << "value of " << key << " is " << actual.toString() << " (type " << typeName
            << "), expected " << expected << '\n';
        return 1;
    }
    QTextStream(stdout) << "read back " << key << " = " << actual.toString() << '\n';
    return 0;
}
