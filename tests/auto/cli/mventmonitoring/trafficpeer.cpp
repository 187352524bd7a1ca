// SPDX-License-Identifier: MIT
// Test helper: publishes COUNT events called EVENT through a MemoryEventHandler that also
// handles them, prints "done" once every event went through the handler, then exits when
// standard input closes or a line arrives, so that the test reads the figures of a live
// process.

#include <memoryeventhandler.h>

#include <QCoreApplication>
#include <QSocketNotifier>

#include <cstdio>
#include <unistd.h>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList arguments = app.arguments();
    bool ok = false;
    const int count = arguments.size() == 4 ? arguments.at(3).toInt(&ok) : 0;
    if (!ok || count <= 0) {
        std::fprintf(stderr, "usage: traffic-peer POOL EVENT COUNT\n");
        return 2;
    }
    const QString event = arguments.at(2);

    mvent::MemoryEventHandler handler(arguments.at(1));
    if (!handler.isAttached()) {
        std::fprintf(stderr, "traffic-peer: %s\n", qPrintable(handler.errorString()));
        return 1;
    }
    int handled = 0;
    handler.on(event, [&](const QVariant &) {
        ++handled;
        if (handled == count) {
            // Queued, so that the pool records this last call before the test reads it.
            QMetaObject::invokeMethod(
                    &app,
                    [] {
                        std::printf("done\n");
                        std::fflush(stdout);
                    },
                    Qt::QueuedConnection);
        }
    });
    for (int i = 1; i <= count; ++i) {
        if (!handler.publish(event, i)) {
            std::fprintf(stderr, "traffic-peer: %s\n", qPrintable(handler.errorString()));
            return 1;
        }
    }

    QSocketNotifier input(STDIN_FILENO, QSocketNotifier::Read);
    QObject::connect(&input, &QSocketNotifier::activated, &app, &QCoreApplication::quit);
    return app.exec();
}
