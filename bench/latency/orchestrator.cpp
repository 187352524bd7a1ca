// SPDX-License-Identifier: MIT
#include "orchestrator.h"

#include <sharedmemorypool.h>

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QLocalServer>
#include <QProcess>
#include <QStandardPaths>
#include <QTextStream>

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace bench {

namespace {

constexpr int ReadyTimeoutMs = 20000;
constexpr int RunTimeoutMs = 180000;
// A source that has not seen the sink's stop credit is ended after this grace period.
constexpr int ServerExitTimeoutMs = 3000;

void removeMventPool(const QString &name)
{
    mvent::SharedMemoryPool::removePool(name);
}

void removeLocalServer(const QString &name)
{
    QLocalServer::removeServer(name);
}

void removeSharedMemory(const QString &name)
{
    shm_unlink((u'/' + name).toLocal8Bit().constData());
}

void removeNothing(const QString &) {}

#ifdef MVENT_BENCH_HAVE_REMOTEOBJECTS
constexpr auto remoteObjectsRun = &runRemoteObjects;
constexpr const char *remoteObjectsSkip = "";
#else
constexpr int (*remoteObjectsRun)(const RoleOptions &) = nullptr;
constexpr const char *remoteObjectsSkip = "Qt6 RemoteObjects or repc not found at configure time "
                                          "(apt-get install qt6-remoteobjects-dev "
                                          "libqt6remoteobjects6-bin)";
#endif
#ifdef MVENT_BENCH_HAVE_ZMQ
constexpr auto zmqRun = &runZmq;
constexpr const char *zmqSkip = "";
#else
constexpr int (*zmqRun)(const RoleOptions &) = nullptr;
constexpr const char *zmqSkip = "libzmq not found by pkg-config at configure time "
                                "(apt-get install libzmq3-dev)";
#endif
#ifdef MVENT_BENCH_HAVE_ICEORYX
constexpr auto iceoryxRun = &runIceoryx;
constexpr const char *iceoryxSkip = "";
#else
constexpr int (*iceoryxRun)(const RoleOptions &) = nullptr;
constexpr const char *iceoryxSkip = "iceoryx_posh not found at configure time "
                                    "(apt-get install libiceoryx-posh-dev iceoryx)";
#endif

const TransportInfo transports[] = {
    {"mvent-queued", "mvent QueuedDelivery", &runMvent, "", &removeMventPool, false},
    {"mvent-direct", "mvent DirectDelivery", &runMvent, "", &removeMventPool, false},
    {"qlocalsocket", "QLocalSocket", &runLocalSocket, "", &removeLocalServer, false},
    {"qtro", "Qt Remote Objects local:", remoteObjectsRun, remoteObjectsSkip, &removeLocalServer,
     false},
    {"zmq", "ZeroMQ PAIR ipc://", zmqRun, zmqSkip, &removeNothing, false},
    {"iceoryx", "iceoryx 2.0 WaitSet", iceoryxRun, iceoryxSkip, &removeNothing, true},
    {"futex", "futex on shared page", &runFutex, "", &removeSharedMemory, false},
};

struct Placement
{
    QString name;
    int serverCpu;
    int clientCpu;
};

// Results of one transport in one placement, one entry per repetition.
struct Samples
{
    std::vector<double> p50Us;
    std::vector<double> p99Us;
    std::vector<double> messagesPerSecond;
    qint64 lost = 0;
    QString skipped;   // set when the transport did not run
    QString failure;   // set when a run failed
};

double median(std::vector<double> values)
{
    if (values.empty())
        return std::nan("");
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

// Parses "RESULT key=value ..." into a map; empty if the line is missing.
std::map<QString, qint64> parseResult(const QByteArray &output)
{
    std::map<QString, qint64> fields;
    for (const QByteArray &line : output.split('\n')) {
        if (!line.startsWith(ResultPrefix))
            continue;
        for (const QByteArray &field : line.split(' ')) {
            const int equals = field.indexOf('=');
            if (equals > 0)
                fields[QString::fromLatin1(field.left(equals))] = field.mid(equals + 1).toLongLong();
        }
    }
    return fields;
}

QStringList childArguments(const RoleOptions &child)
{
    return {QStringLiteral("--role"), roleName(child.role),
            QStringLiteral("--transport"), child.transport,
            QStringLiteral("--name"), child.name,
            QStringLiteral("--cpu"), QString::number(child.cpu),
            QStringLiteral("--warmup"), QString::number(child.warmup),
            QStringLiteral("--round-trips"), QString::number(child.roundTrips),
            QStringLiteral("--messages"), QString::number(child.messages)};
}

void startChild(QProcess &process, const RoleOptions &child)
{
    process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    process.start(QCoreApplication::applicationFilePath(), childArguments(child));
}

// Stops a child that did not exit by itself; the pid is the one QProcess started.
void endChild(QProcess &process, int timeoutMs)
{
    if (process.state() == QProcess::NotRunning)
        return;
    if (process.waitForFinished(timeoutMs))
        return;
    process.kill();
    process.waitForFinished(2000);
}

bool waitForReady(QProcess &process, QString *error)
{
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < ReadyTimeoutMs) {
        while (process.canReadLine()) {
            if (process.readLine().trimmed() == ReadyLine)
                return true;
        }
        if (process.state() == QProcess::NotRunning) {
            *error = QStringLiteral("server exited with code %1 before it was ready")
                         .arg(process.exitCode());
            return false;
        }
        process.waitForReadyRead(100);
    }
    *error = QStringLiteral("server not ready within %1 ms").arg(ReadyTimeoutMs);
    return false;
}

// Runs one server/client pair and returns the client's result fields, or sets error.
std::map<QString, qint64> runPair(RoleOptions server, RoleOptions client, QString *error)
{
    static int runIndex = 0;
    const QString name = QStringLiteral("mvent-bench-%1-%2")
                             .arg(QCoreApplication::applicationPid())
                             .arg(++runIndex);
    server.name = name;
    client.name = name;
    const TransportInfo *transport = findTransport(server.transport);

    QProcess serverProcess;
    startChild(serverProcess, server);
    std::map<QString, qint64> result;
    if (waitForReady(serverProcess, error)) {
        QProcess clientProcess;
        startChild(clientProcess, client);
        if (!clientProcess.waitForFinished(RunTimeoutMs)) {
            *error = QStringLiteral("client did not finish within %1 ms").arg(RunTimeoutMs);
            endChild(clientProcess, 0);
        } else if (clientProcess.exitStatus() != QProcess::NormalExit
                   || clientProcess.exitCode() != 0) {
            *error = QStringLiteral("client failed with exit code %1").arg(clientProcess.exitCode());
        } else {
            result = parseResult(clientProcess.readAllStandardOutput());
            if (result.empty())
                *error = QStringLiteral("client printed no result");
        }
    }
    endChild(serverProcess, ServerExitTimeoutMs);
    transport->cleanup(name);
    return result;
}

// The iox-roudi daemon that iceoryx clients register with, started for the iceoryx runs.
class RouDi
{
public:
    bool start(QString *error)
    {
        const QString program = QStandardPaths::findExecutable(QStringLiteral("iox-roudi"));
        if (program.isEmpty()) {
            *error = QStringLiteral("iox-roudi not found in PATH (apt-get install iceoryx)");
            return false;
        }
        m_process.setProcessChannelMode(QProcess::MergedChannels);
        m_process.start(program, {});
        QElapsedTimer timer;
        timer.start();
        QByteArray output;
        while (timer.elapsed() < ReadyTimeoutMs) {
            m_process.waitForReadyRead(100);
            output += m_process.readAll();
            if (output.contains("RouDi is ready for clients"))
                return true;
            if (m_process.state() == QProcess::NotRunning)
                break;
        }
        *error = QStringLiteral("iox-roudi did not become ready: %1")
                     .arg(QString::fromLocal8Bit(output.trimmed()));
        stop();
        return false;
    }

    void stop()
    {
        if (m_process.state() == QProcess::NotRunning)
            return;
        m_process.terminate();
        endChild(m_process, 5000);
    }

    ~RouDi() { stop(); }

private:
    QProcess m_process;
};

Samples measure(const TransportInfo &transport, const Placement &placement,
                const OrchestratorOptions &options, bool latency)
{
    Samples samples;
    if (!transport.run) {
        samples.skipped = QString::fromLatin1(transport.skipReason);
        return samples;
    }
    RoleOptions server = options.child;
    RoleOptions client = options.child;
    server.transport = client.transport = QString::fromLatin1(transport.name);
    server.role = latency ? Role::Echo : Role::Source;
    client.role = latency ? Role::Ping : Role::Sink;
    server.cpu = placement.serverCpu;
    client.cpu = placement.clientCpu;

    for (int i = 0; i < options.repeat; ++i) {
        QString error;
        const auto result = runPair(server, client, &error);
        if (!error.isEmpty()) {
            samples.failure = error;
            return samples;
        }
        if (latency) {
            samples.p50Us.push_back(result.at(QStringLiteral("p50_ns")) / 1000.0);
            samples.p99Us.push_back(result.at(QStringLiteral("p99_ns")) / 1000.0);
        } else {
            const double seconds = result.at(QStringLiteral("elapsed_ns")) / 1e9;
            samples.messagesPerSecond.push_back(result.at(QStringLiteral("messages")) / seconds);
            samples.lost += result.at(QStringLiteral("lost"));
        }
    }
    return samples;
}

QString ratio(double value, double reference)
{
    if (std::isnan(value) || std::isnan(reference) || reference <= 0)
        return QStringLiteral("-");
    return QString::number(value / reference, 'f', 2);
}

void printLatencyTable(const Placement &placement, const std::vector<const TransportInfo *> &order,
                       const std::map<QString, Samples> &results, int repeat)
{
    const auto p50 = [&](const char *name) {
        const auto found = results.find(QString::fromLatin1(name));
        return found == results.end() ? std::nan("") : median(found->second.p50Us);
    };
    const double queued = p50("mvent-queued");
    const double direct = p50("mvent-direct");
    const double futex = p50("futex");
    std::printf("\nLatency, %s: one-way = round trip / 2, 64-byte messages, median of %d run(s)\n",
                qPrintable(placement.name), repeat);
    std::printf("%-14s %9s %9s %9s %9s %9s  %s\n", "transport", "p50 us", "p99 us", "/queued",
                "/direct", "/futex", "p50 range us");
    for (const TransportInfo *transport : order) {
        const Samples &samples = results.at(QString::fromLatin1(transport->name));
        if (!samples.skipped.isEmpty() || !samples.failure.isEmpty()) {
            std::printf("%-14s %s: %s\n", transport->name,
                        samples.skipped.isEmpty() ? "failed" : "skipped",
                        qPrintable(samples.skipped.isEmpty() ? samples.failure : samples.skipped));
            continue;
        }
        const double value = median(samples.p50Us);
        const auto [low, high] = std::minmax_element(samples.p50Us.begin(), samples.p50Us.end());
        std::printf("%-14s %9.2f %9.2f %9s %9s %9s  %.2f-%.2f\n", transport->name, value,
                    median(samples.p99Us), qPrintable(ratio(value, queued)),
                    qPrintable(ratio(value, direct)), qPrintable(ratio(value, futex)), *low, *high);
    }
}

void printThroughputTable(const Placement &placement,
                          const std::vector<const TransportInfo *> &order,
                          const std::map<QString, Samples> &results, int repeat)
{
    const auto rate = [&](const char *name) {
        const auto found = results.find(QString::fromLatin1(name));
        return found == results.end() ? std::nan("") : median(found->second.messagesPerSecond);
    };
    const double queued = rate("mvent-queued");
    const double direct = rate("mvent-direct");
    std::printf("\nThroughput, %s: 64-byte messages, one subscriber, median of %d run(s)\n",
                qPrintable(placement.name), repeat);
    std::printf("%-14s %12s %9s %9s %8s  %s\n", "transport", "msg/s", "/queued", "/direct",
                "lost", "range msg/s");
    for (const TransportInfo *transport : order) {
        const Samples &samples = results.at(QString::fromLatin1(transport->name));
        if (!samples.skipped.isEmpty() || !samples.failure.isEmpty()) {
            std::printf("%-14s %s: %s\n", transport->name,
                        samples.skipped.isEmpty() ? "failed" : "skipped",
                        qPrintable(samples.skipped.isEmpty() ? samples.failure : samples.skipped));
            continue;
        }
        const double value = median(samples.messagesPerSecond);
        const auto [low, high] = std::minmax_element(samples.messagesPerSecond.begin(),
                                                     samples.messagesPerSecond.end());
        std::printf("%-14s %12.0f %9s %9s %8lld  %.0f-%.0f\n", transport->name, value,
                    qPrintable(ratio(value, queued)), qPrintable(ratio(value, direct)),
                    static_cast<long long>(samples.lost), *low, *high);
    }
}

} // namespace

const TransportInfo *findTransport(const QString &name)
{
    for (const TransportInfo &transport : transports) {
        if (name == QLatin1String(transport.name))
            return &transport;
    }
    return nullptr;
}

QStringList transportNames()
{
    QStringList names;
    for (const TransportInfo &transport : transports)
        names.append(QString::fromLatin1(transport.name));
    return names;
}

QString roleName(Role role)
{
    switch (role) {
    case Role::Echo:
        return QStringLiteral("echo");
    case Role::Ping:
        return QStringLiteral("ping");
    case Role::Source:
        return QStringLiteral("source");
    case Role::Sink:
        return QStringLiteral("sink");
    }
    return {};
}

std::optional<Role> parseRole(const QString &name)
{
    for (Role role : {Role::Echo, Role::Ping, Role::Source, Role::Sink}) {
        if (roleName(role) == name)
            return role;
    }
    return std::nullopt;
}

int runOrchestrator(const OrchestratorOptions &options)
{
    std::vector<const TransportInfo *> order;
    for (const QString &name : options.transports) {
        const TransportInfo *transport = findTransport(name);
        if (!transport) {
            QTextStream(stderr) << "mvent-bench-latency: unknown transport '" << name
                                << "'; known: " << transportNames().join(QStringLiteral(", "))
                                << '\n';
            return 2;
        }
        order.push_back(transport);
    }
    std::vector<Placement> placements;
    for (const QString &name : options.placements) {
        if (name == QLatin1String("same")) {
            placements.push_back({QStringLiteral("same core (CPU 0 and CPU 0)"), 0, 0});
        } else if (name == QLatin1String("separate")) {
            placements.push_back({QStringLiteral("separate cores (CPU 0 and CPU 1)"), 0, 1});
        } else {
            QTextStream(stderr) << "mvent-bench-latency: unknown placement '" << name
                                << "'; expected same or separate\n";
            return 2;
        }
    }

    for (const TransportInfo *transport : order) {
        if (!transport->run)
            std::printf("%s skipped: %s\n", transport->name, transport->skipReason);
    }
    std::fflush(stdout);

    RouDi rouDi;
    QString rouDiError;
    const bool needsRouDi = std::any_of(order.begin(), order.end(), [](const TransportInfo *t) {
        return t->needsRouDi && t->run;
    });
    const bool rouDiRunning = needsRouDi && rouDi.start(&rouDiError);

    bool anyFailed = false;
    for (const Placement &placement : placements) {
        std::map<QString, Samples> latency;
        std::map<QString, Samples> throughput;
        for (const TransportInfo *transport : order) {
            const QString key = QString::fromLatin1(transport->name);
            for (bool isLatency : {true, false}) {
                if (!(isLatency ? options.latency : options.throughput))
                    continue;
                Samples samples;
                if (transport->needsRouDi && transport->run && !rouDiRunning)
                    samples.skipped = rouDiError;
                else
                    samples = measure(*transport, placement, options, isLatency);
                if (!samples.failure.isEmpty()) {
                    anyFailed = true;
                    QTextStream(stderr) << "mvent-bench-latency: " << key << ' '
                                        << (isLatency ? "latency" : "throughput") << ", "
                                        << placement.name << ": " << samples.failure << '\n';
                }
                (isLatency ? latency : throughput)[key] = samples;
            }
        }
        if (options.latency)
            printLatencyTable(placement, order, latency, options.repeat);
        if (options.throughput)
            printThroughputTable(placement, order, throughput, options.repeat);
        std::fflush(stdout);
    }
    rouDi.stop();
    return anyFailed ? 1 : 0;
}

} // namespace bench
