// SPDX-License-Identifier: MIT
// Attaches to an existing pool and prints the outcome, for tests that need another user or
// process: "attached" or "error <Error enum name> <errorString>". Exits 0 when attached.

#include <sharedmemorypool.h>

#include <QCoreApplication>
#include <QMetaEnum>
#include <QTextStream>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QTextStream out(stdout);
    if (app.arguments().size() != 2) {
        out << "usage: pool-attach POOL_NAME\n";
        return 2;
    }

    mvent::SharedMemoryPool::Options options;
    options.openMode = mvent::SharedMemoryPool::AttachOnly;
    mvent::SharedMemoryPool pool(app.arguments().at(1), options);
    if (pool.isAttached()) {
        out << "attached\n";
        return 0;
    }
    const QMetaEnum errors = QMetaEnum::fromType<mvent::SharedMemoryPool::Error>();
    out << "error " << errors.valueToKey(pool.error()) << ' ' << pool.errorString() << '\n';
    return 1;
}
