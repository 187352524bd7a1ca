// SPDX-License-Identifier: MIT
// mvent-demo: two producers and two consumers of events, each in a process of its own, started
// and reported on by a parent process. The parent runs this same program with --role.

#include "common.h"
#include "consumers.h"
#include "orchestrator.h"
#include "producers.h"

#include <sharedmemorypool.h>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QLoggingCategory>

#include <cstdio>

namespace {

// Returns a text file that every Debian system has.
QString defaultTextFile()
{
    const QString license = QStringLiteral("/usr/share/common-licenses/GPL-3");
    return QFile::exists(license) ? license : QStringLiteral("/etc/services");
}

int usageError(const QString &message)
{
    std::fprintf(stderr, "mvent-demo: %s; run 'mvent-demo --help' for usage\n",
                 qPrintable(message));
    return 2;
}

// Parses option's value as a whole number of at least minimum, or returns -1.
int positiveValue(const QCommandLineParser &parser, const QCommandLineOption &option, int minimum)
{
    bool ok = false;
    const int value = parser.value(option).toInt(&ok);
    return ok && value >= minimum ? value : -1;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("mvent-demo"));
    // The demo prints its own progress, so the library's info messages are off.
    QLoggingCategory::setFilterRules(QStringLiteral("mvent.*.info=false"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
            "Runs a system-counter producer, a text-file producer and two consumers in separate "
            "processes that share one mvent pool, prints the consumers' live summaries once a "
            "second and ends with a table of events sent, received and lost and the delivery "
            "latency. Exits with status 0 only if no event was lost."));
    parser.addHelpOption();
    const QCommandLineOption durationOption(QStringLiteral("duration"),
            QStringLiteral("How long the producers publish, in seconds (default: 10)."),
            QStringLiteral("seconds"), QStringLiteral("10"));
    const QCommandLineOption fileOption(QStringLiteral("file"),
            QStringLiteral("Text file whose lines the text producer streams (default: %1).")
                    .arg(defaultTextFile()),
            QStringLiteral("path"), defaultTextFile());
    const QCommandLineOption poolOption(QStringLiteral("pool"),
            QStringLiteral("Name of the pool to create; it is removed at the end (default: "
                           "mvent-demo-PID)."),
            QStringLiteral("name"));
    const QCommandLineOption intervalOption(QStringLiteral("interval-ms"),
            QStringLiteral("Milliseconds between two publications of a producer (default: "
                           "200 for the system counters, 10 for text lines)."),
            QStringLiteral("ms"));
    const QCommandLineOption roleOption(QStringLiteral("role"),
            QStringLiteral("Internal: run as one child process of the demo."),
            QStringLiteral("role"));
    const QCommandLineOption durationMsOption(QStringLiteral("duration-ms"),
            QStringLiteral("Internal: how long a producer child publishes, in milliseconds."),
            QStringLiteral("ms"));
    parser.addOptions({ durationOption, fileOption, poolOption, intervalOption, roleOption,
                        durationMsOption });
    parser.process(app);
    if (!parser.positionalArguments().isEmpty()) {
        return usageError(QStringLiteral("unexpected argument '%1'")
                                  .arg(parser.positionalArguments().first()));
    }

    const QString poolName = parser.isSet(poolOption)
            ? parser.value(poolOption)
            : QStringLiteral("mvent-demo-%1").arg(QCoreApplication::applicationPid());
    if (!mvent::SharedMemoryPool::isValidName(poolName)) {
        return usageError(QStringLiteral("invalid pool name '%1': use 1 to 64 of A-Z a-z 0-9 "
                                         ". _ -")
                                  .arg(poolName));
    }
    const int intervalMs = parser.isSet(intervalOption) ? positiveValue(parser, intervalOption, 1)
                                                        : 0;
    if (intervalMs < 0) {
        return usageError(QStringLiteral("invalid --interval-ms value '%1': expected a whole "
                                         "number of at least 1")
                                  .arg(parser.value(intervalOption)));
    }

    const QString role = parser.value(roleOption);
    if (role.isEmpty()) {
        demo::DemoOptions options;
        options.poolName = poolName;
        options.textPath = parser.value(fileOption);
        options.durationSeconds = positiveValue(parser, durationOption, 1);
        if (options.durationSeconds < 0) {
            return usageError(QStringLiteral("invalid --duration value '%1': expected a whole "
                                             "number of seconds, at least 1")
                                      .arg(parser.value(durationOption)));
        }
        if (!QFile::exists(options.textPath)) {
            return usageError(QStringLiteral("text file '%1' not found").arg(options.textPath));
        }
        if (intervalMs > 0) {
            options.systemIntervalMs = intervalMs;
            options.lineIntervalMs = intervalMs;
        }
        return demo::runOrchestrator(options);
    }

    if (role == QLatin1String(demo::SystemConsumerRole)) {
        return demo::runSystemConsumer(poolName);
    }
    if (role == QLatin1String(demo::TextConsumerRole)) {
        return demo::runTextConsumer(poolName);
    }
    const int durationMs = positiveValue(parser, durationMsOption, 1);
    if (durationMs < 0 || intervalMs == 0) {
        return usageError(QStringLiteral("role %1 needs --duration-ms and --interval-ms")
                                  .arg(role));
    }
    if (role == QLatin1String(demo::SystemProducerRole)) {
        return demo::runSystemProducer(poolName, durationMs, intervalMs);
    }
    if (role == QLatin1String(demo::TextProducerRole)) {
        return demo::runTextProducer(poolName, parser.value(fileOption), durationMs, intervalMs);
    }
    return usageError(QStringLiteral("unknown role '%1'").arg(role));
}
