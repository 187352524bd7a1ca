// SPDX-License-Identifier: MIT
// Test helper: publishes COUNT events called EVENT to itself through a MemoryEventHandler
// whose handler throws on every tenth value, and prints "done" once all arrived. It exits
// when standard input closes or a line arrives, so the test can read its figures alive.

#include <memoryeventhandler.h>

#include <QCoreApplication>
#include <QSocketNotifier>
#include <QTextStream>

#include <cstdio>
#include <stdexcept>
#include <unistd.h>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList arguments = app.arguments();
    if (arguments.size() != 4) {
        std::fprintf(stderr, "usage: monitor-peer POOL EVENT COUNT\n");
        return 2;
    }
    const QString event = arguments.at(2);
    const int count = arguments.at(3).toInt();

    mvent::MemoryEventHandler handler(arguments.at(1));
    if (!handler.isAttached()) {
        std::fprintf(stderr, "monitor-peer: %s\n", qPrintable(handler.errorString()));
        return 1;
    }
    int received = 0;
    handler.on(event, [&](const QVariant &value) {
        ++received;
        if (received == count) {
            std::printf("done\n");
            std::fflush(stdout);
        }
        if (value.toInt() % 10 == 0) {
            throw std::runtime_error("every tenth value fails");
        }
    });
    for (int i = 1; i <= count; ++i) {
        if (!handler.publish(event, i)) {
            std::fprintf(stderr, "monitor-peer: %s\n", qPrintable(handler.errorString()));
            return 1;
        }
    }

    QSocketNotifier input(STDIN_FILENO, QSocketNotifier::Read);
    QObject::connect(&input, &QSocketNotifier::activated, &app, &QCoreApplication::quit);
    return app.exec();
}
