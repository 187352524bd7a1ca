// SPDX-License-Identifier: MIT
//
// mvent-bench-latency: cross-process latency and throughput of mvent against other local IPC
// transports, all measured by the same method. Run without --role it is the orchestrator: for
// every transport and CPU placement it starts a server child and a client child of its own
// binary, each pinned with --cpu, and prints the tables. With --role it is one of those
// children. See docs/BENCHMARKS.md for the method and recorded results.

#include "common.h"
#include "orchestrator.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QLoggingCategory>
#include <QTextStream>

#include <sched.h>

#include <algorithm>
#include <cstdio>

namespace bench {

void printReady()
{
    std::printf("%s\n", ReadyLine);
    std::fflush(stdout);
}

void printLatencyResult(std::vector<qint64> &roundTripNs)
{
    if (roundTripNs.empty()) {
        std::printf("%s error=no-samples\n", ResultPrefix);
        std::fflush(stdout);
        return;
    }
    std::sort(roundTripNs.begin(), roundTripNs.end());
    const auto percentile = [&](double fraction) {
        const size_t index = std::min(roundTripNs.size() - 1, size_t(fraction * roundTripNs.size()));
        return roundTripNs[index] / 2;
    };
    std::printf("%s p50_ns=%lld p99_ns=%lld samples=%zu\n", ResultPrefix,
                static_cast<long long>(percentile(0.50)), static_cast<long long>(percentile(0.99)),
                roundTripNs.size());
    std::fflush(stdout);
}

void printThroughputResult(qint64 messages, qint64 elapsedNs, qint64 lost)
{
    std::printf("%s messages=%lld elapsed_ns=%lld lost=%lld\n", ResultPrefix,
                static_cast<long long>(messages), static_cast<long long>(elapsedNs),
                static_cast<long long>(lost));
    std::fflush(stdout);
}

int fail(const RoleOptions &options, const QString &message)
{
    QTextStream(stderr) << "mvent-bench-latency [" << options.transport << ' '
                        << roleName(options.role) << "]: " << message << '\n';
    return 1;
}

static bool pinToCpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0;
}

static int runRole(const RoleOptions &options)
{
    // Pin before any transport creates threads, so that notifier and I/O threads inherit it.
    if (options.cpu >= 0 && !pinToCpu(options.cpu))
        return fail(options, QStringLiteral("sched_setaffinity to CPU %1 failed: %2")
                                 .arg(options.cpu)
                                 .arg(QString::fromLocal8Bit(std::strerror(errno))));

    const TransportInfo *transport = findTransport(options.transport);
    if (!transport)
        return fail(options, QStringLiteral("unknown transport"));
    if (!transport->run)
        return fail(options, QStringLiteral("not built: %1").arg(QLatin1String(transport->skipReason)));
    return transport->run(options);
}

} // namespace bench

int main(int argc, char *argv[])
{
    using namespace bench;

    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("mvent-bench-latency"));
    // Pool creation and removal are logged at info level, once per run; QT_LOGGING_RULES
    // overrides this.
    QLoggingCategory::setFilterRules(QStringLiteral("mvent.*.info=false"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Measures one-way latency (ping-pong round trip / 2) and one-subscriber throughput of "
        "64-byte messages between two processes, for mvent and other local IPC transports."));
    parser.addHelpOption();
    const QCommandLineOption transportsOption(
        QStringLiteral("transports"),
        QStringLiteral("Comma-separated transports to run (default: all built). Known: %1.")
            .arg(transportNames().join(QStringLiteral(", "))),
        QStringLiteral("list"));
    const QCommandLineOption placementsOption(
        QStringLiteral("placements"),
        QStringLiteral("Comma-separated CPU placements: same (both on CPU 0), separate (CPU 0 "
                       "and CPU 1). Default: same,separate."),
        QStringLiteral("list"), QStringLiteral("same,separate"));
    const QCommandLineOption roundTripsOption(QStringLiteral("round-trips"),
                                              QStringLiteral("Measured round trips per run."),
                                              QStringLiteral("count"), QStringLiteral("20000"));
    const QCommandLineOption warmupOption(QStringLiteral("warmup"),
                                          QStringLiteral("Unmeasured round trips before them."),
                                          QStringLiteral("count"), QStringLiteral("2000"));
    const QCommandLineOption messagesOption(
        QStringLiteral("messages"),
        QStringLiteral("Throughput run length in messages; a run also ends after 2 s."),
        QStringLiteral("count"), QStringLiteral("2000000"));
    const QCommandLineOption repeatOption(
        QStringLiteral("repeat"),
        QStringLiteral("Runs per transport and placement; the tables show medians and the p50 "
                       "range."),
        QStringLiteral("count"), QStringLiteral("1"));
    const QCommandLineOption noThroughputOption(QStringLiteral("no-throughput"),
                                                QStringLiteral("Measure latency only."));
    const QCommandLineOption noLatencyOption(QStringLiteral("no-latency"),
                                             QStringLiteral("Measure throughput only."));
    // Options of the child roles, started by the orchestrator.
    const QCommandLineOption roleOption(QStringLiteral("role"),
                                        QStringLiteral("Child role: echo, ping, source or sink."),
                                        QStringLiteral("role"));
    const QCommandLineOption transportOption(QStringLiteral("transport"),
                                             QStringLiteral("Child role: transport to use."),
                                             QStringLiteral("name"));
    const QCommandLineOption nameOption(QStringLiteral("name"),
                                       QStringLiteral("Child role: pool, socket or service name."),
                                       QStringLiteral("name"));
    const QCommandLineOption cpuOption(QStringLiteral("cpu"),
                                       QStringLiteral("Child role: CPU to pin this process to."),
                                       QStringLiteral("index"), QStringLiteral("-1"));
    parser.addOptions({transportsOption, placementsOption, roundTripsOption, warmupOption,
                       messagesOption, repeatOption, noThroughputOption, noLatencyOption,
                       roleOption, transportOption, nameOption, cpuOption});
    parser.process(app);

    bool ok = true;
    const auto count = [&](const QCommandLineOption &option, qint64 minimum) {
        bool parsed = false;
        const qint64 value = parser.value(option).toLongLong(&parsed);
        if (!parsed || value < minimum) {
            QTextStream(stderr) << "mvent-bench-latency: invalid --" << option.names().constFirst()
                                << " '" << parser.value(option) << "': expected an integer >= "
                                << minimum << '\n';
            ok = false;
        }
        return value;
    };
    RoleOptions options;
    options.roundTrips = count(roundTripsOption, 1);
    options.warmup = count(warmupOption, 0);
    options.messages = count(messagesOption, CreditInterval);
    options.cpu = int(count(cpuOption, -1));
    const int repeat = int(count(repeatOption, 1));
    if (!ok)
        return 2;

    if (parser.isSet(roleOption)) {
        const std::optional<Role> role = parseRole(parser.value(roleOption));
        if (!role) {
            QTextStream(stderr) << "mvent-bench-latency: invalid --role '"
                                << parser.value(roleOption)
                                << "': expected echo, ping, source or sink\n";
            return 2;
        }
        options.role = *role;
        options.transport = parser.value(transportOption);
        options.name = parser.value(nameOption);
        if (options.name.isEmpty()) {
            QTextStream(stderr) << "mvent-bench-latency: --role needs --name\n";
            return 2;
        }
        return runRole(options);
    }

    OrchestratorOptions run;
    run.child = options;
    run.repeat = repeat;
    run.latency = !parser.isSet(noLatencyOption);
    run.throughput = !parser.isSet(noThroughputOption);
    run.transports = parser.isSet(transportsOption)
                         ? parser.value(transportsOption).split(u',', Qt::SkipEmptyParts)
                         : transportNames();
    run.placements = parser.value(placementsOption).split(u',', Qt::SkipEmptyParts);
    return runOrchestrator(run);
}
