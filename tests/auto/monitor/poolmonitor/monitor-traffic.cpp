// SPDX-License-Identifier: MIT
// Helper process for the dashboard tests: publishes a known number of events to a pool and
// handles them itself, so the pool's figures are known.
//
//   monitor-traffic [--large] POOL EVENT:COUNT[:fail|:unhandled]...
//
// For each EVENT it registers one handler with MemoryEventHandler::on() and publishes COUNT
// events with the values 0 to COUNT - 1. A handler of an event marked ":fail" throws on every
// call, and an event marked ":unhandled" gets no handler. --large creates a 64 MiB pool for 8
// processes whose stats blocks have room for 4,096 names each, where the default is 64. Once every handler ran COUNT times it prints "ready" and keeps its process slot until
// standard input reaches end of file, so the process shows as alive meanwhile.
//
// Exits 0 after end of input, 1 when the pool or a publish fails, 2 on a usage error.

#include <memoryeventhandler.h>

#include <QCoreApplication>
#include <QHash>
#include <QSocketNotifier>
#include <QTimer>

#include <cstdio>
#include <stdexcept>
#include <unistd.h>

using mvent::MemoryEventHandler;

namespace {

struct Traffic
{
    QString event;
    int count = 0;
    bool fail = false;
    bool handled = true;
};

int usageError(const QString &message)
{
    std::fprintf(stderr, "monitor-traffic: %s\nusage: monitor-traffic [--large] POOL EVENT:COUNT[:fail|:unhandled]...\n",
                 qPrintable(message));
    return 2;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QStringList arguments = app.arguments().mid(1);
    const bool large = arguments.value(0) == QLatin1String("--large");
    if (large) {
        arguments.removeFirst();
    }
    if (arguments.size() < 2) {
        return usageError(QStringLiteral("missing pool name or traffic"));
    }

    QList<Traffic> traffic;
    for (const QString &argument : arguments.mid(1)) {
        const QStringList fields = argument.split(QLatin1Char(':'));
        bool countOk = false;
        const int count = fields.value(1).toInt(&countOk);
        const QString mark = fields.value(2);
        const bool markOk = fields.size() == 2
                || (fields.size() == 3
                    && (mark == QLatin1String("fail") || mark == QLatin1String("unhandled")));
        if (fields.size() < 2 || !countOk || count < 0 || !markOk) {
            return usageError(QStringLiteral("invalid traffic '%1'").arg(argument));
        }
        traffic.append({fields.at(0), count, mark == QLatin1String("fail"),
                        mark != QLatin1String("unhandled")});
    }

    MemoryEventHandler::Options options;
    if (large) {
        options.pool.size = 64 * 1024 * 1024;
        options.pool.maxAttachments = 8;
        options.pool.statsRecords = 4096;
    }
    MemoryEventHandler handler(arguments.at(0), options);
    if (!handler.isAttached()) {
        std::fprintf(stderr, "monitor-traffic: %s\n", qPrintable(handler.errorString()));
        return 1;
    }

    QHash<QString, int> calls;
    int expectedCalls = 0;
    bool ready = false;
    const auto reportWhenDone = [&] {
        int done = 0;
        for (const Traffic &t : std::as_const(traffic)) {
            done += calls.value(t.event);
        }
        if (!ready && done == expectedCalls) {
            ready = true;
            // The handler that ran last records its call and error after it returns,
            // so "ready" waits for the event loop.
            QTimer::singleShot(0, [] {
                std::printf("ready\n");
                std::fflush(stdout);
            });
        }
    };
    for (const Traffic &t : std::as_const(traffic)) {
        if (!t.handled) {
            continue;
        }
        expectedCalls += t.count;
        handler.on(t.event, [&calls, &reportWhenDone, t](const QVariant &) {
            ++calls[t.event];
            reportWhenDone();
            if (t.fail) {
                throw std::runtime_error("failing on purpose");
            }
        });
    }

    for (const Traffic &t : std::as_const(traffic)) {
        for (int i = 0; i < t.count; ++i) {
            if (!handler.publish(t.event, i)) {
                std::fprintf(stderr, "monitor-traffic: %s\n", qPrintable(handler.errorString()));
                return 1;
            }
        }
    }
    reportWhenDone();

    QSocketNotifier input(STDIN_FILENO, QSocketNotifier::Read);
    QObject::connect(&input, &QSocketNotifier::activated, &app, [&] {
        char buffer[256];
        if (::read(STDIN_FILENO, buffer, sizeof buffer) <= 0) {
            input.setEnabled(false);
            QCoreApplication::quit();
        }
    });
    return app.exec();
}
