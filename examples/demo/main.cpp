// SPDX-License-Identifier: MIT
// mvent-demo: two producers and two consumers of events, each in a process of its own, started
// and reported on by a parent process. The parent runs this same program with --role.

#include "common.h"
#include "consumers.h"
#include "orchestrator.h"
#include "producers.h"
#include "terminationsignals.h"
#include "textfile.h"

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

// Exit status of a command line that the demo rejects, as opposed to 1 for lost events.
constexpr int UsageErrorStatus = 2;

int usageError(const QString &message)
{
    std::fprintf(stderr, "mvent-demo: %s; run 'mvent-demo --help' for usage\n",
                 qPrintable(message));
    return UsageErrorStatus;
}

// Returns QCommandLineParser's error without its final period and with the unknown options
// as typed, "--bogus" in place of Qt's "bogus".
QString parseErrorMessage(const QCommandLineParser &parser)
{
    const QStringList unknownNames = parser.unknownOptionNames();
    if (!unknownNames.isEmpty()) {
        const QString &name = unknownNames.first();
        const QString dashes = name.size() == 1 ? QStringLiteral("-") : QStringLiteral("--");
        return QStringLiteral("unknown option '%1%2'").arg(dashes, name);
    }
    QString message = parser.errorText();
    if (message.endsWith(QLatin1Char('.'))) {
        message.chop(1);
    }
    if (!message.isEmpty()) {
        message[0] = message[0].toLower();
    }
    return message;
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
            "latency.\n\n"
            "Exit status: 0 if no event was lost, 1 if an event was lost or a process failed, "
            "2 for an invalid option or --file, and 130 or 143 if SIGINT or SIGTERM stopped the "
            "demo."));
    const QCommandLineOption helpOption = parser.addHelpOption();
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
    // parse() in place of process(), because process() exits with status 1 on an unknown
    // option, the status that means lost events.
    if (!parser.parse(QCoreApplication::arguments())) {
        return usageError(parseErrorMessage(parser));
    }
    if (parser.isSet(helpOption)) {
        parser.showHelp(0);
    }
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

    // Installed before any process attaches to the pool, so that every role can detach and the
    // parent can remove the pool when SIGINT or SIGTERM arrives.
    demo::TerminationSignals terminationSignals;
    if (!terminationSignals.isValid()) {
        std::fprintf(stderr, "mvent-demo: %s\n", qPrintable(terminationSignals.errorString()));
        return 1;
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
        // Checked here, before any child starts, because a text producer without lines
        // would leave its consumer waiting for the done event.
        QString fileError;
        if (demo::readTextLines(options.textPath, &fileError).isEmpty()) {
            if (parser.isSet(fileOption)) {
                std::fprintf(stderr, "mvent-demo: invalid --file: %s. Pass a text file with at "
                             "least one non-blank line, or leave out --file to stream %s.\n",
                             qPrintable(fileError), qPrintable(defaultTextFile()));
            } else {
                std::fprintf(stderr, "mvent-demo: invalid default text file: %s. Pass a text "
                             "file with at least one non-blank line with --file PATH.\n",
                             qPrintable(fileError));
            }
            return UsageErrorStatus;
        }
        if (intervalMs > 0) {
            options.systemIntervalMs = intervalMs;
            options.lineIntervalMs = intervalMs;
        }
        return demo::runOrchestrator(options, terminationSignals);
    }

    if (role == QLatin1String(demo::SystemConsumerRole)) {
        return demo::runSystemConsumer(poolName, terminationSignals);
    }
    if (role == QLatin1String(demo::TextConsumerRole)) {
        return demo::runTextConsumer(poolName, terminationSignals);
    }
    const int durationMs = positiveValue(parser, durationMsOption, 1);
    if (durationMs < 0 || intervalMs == 0) {
        return usageError(QStringLiteral("role %1 needs --duration-ms and --interval-ms")
                                  .arg(role));
    }
    if (role == QLatin1String(demo::SystemProducerRole)) {
        return demo::runSystemProducer(poolName, durationMs, intervalMs, terminationSignals);
    }
    if (role == QLatin1String(demo::TextProducerRole)) {
        return demo::runTextProducer(poolName, parser.value(fileOption), durationMs, intervalMs,
                                     terminationSignals);
    }
    return usageError(QStringLiteral("unknown role '%1'").arg(role));
}
