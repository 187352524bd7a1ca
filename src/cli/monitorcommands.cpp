// SPDX-License-Identifier: MIT
#include "monitorcommands.h"

#include "commandline.h"
#include "prometheusexport.h"
#include "terminationsignals.h"

#include <monitoringtools.h>
#include <sharedmemorypool.h>

#include <QCoreApplication>
#include <QDateTime>
#include <QHash>
#include <QLoggingCategory>
#include <QTimer>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <netinet/in.h>
#include <optional>
#include <sys/socket.h>
#include <unistd.h>

namespace mvent::cli {

namespace {

Q_LOGGING_CATEGORY(lcMetrics, "mvent.metrics", QtInfoMsg)

const QString DefaultListenAddress = QStringLiteral("127.0.0.1:9464");
constexpr int DefaultTopRows = 10;
constexpr int DefaultTopIntervalMs = 1000;

// Formats a duration in nanoseconds with the largest unit that keeps the number at 1 or more.
QString durationText(qint64 nanoseconds)
{
    if (nanoseconds < 1000) {
        return QStringLiteral("%1 ns").arg(nanoseconds);
    }
    if (nanoseconds < 1000000) {
        return QStringLiteral("%1 us").arg(double(nanoseconds) / 1e3, 0, 'f', 1);
    }
    if (nanoseconds < 1000000000) {
        return QStringLiteral("%1 ms").arg(double(nanoseconds) / 1e6, 0, 'f', 1);
    }
    return QStringLiteral("%1 s").arg(double(nanoseconds) / 1e9, 0, 'f', 2);
}

QString rateText(double eventsPerSecond)
{
    return QString::number(eventsPerSecond, 'f', 1);
}

QList<QStringList> eventRows(const QList<EventInfoStats> &events)
{
    QList<QStringList> rows{
        { QStringLiteral("EVENT"), QStringLiteral("PUBLISHED"), QStringLiteral("RECEIVED"),
          QStringLiteral("SUBSCRIBERS"), QStringLiteral("RATE/S 1S"), QStringLiteral("10S"),
          QStringLiteral("60S"), QStringLiteral("LATENCY P50"), QStringLiteral("P99") }
    };
    for (const EventInfoStats &event : events) {
        rows.append({ event.name, QString::number(event.published), QString::number(event.received),
                      QString::number(event.subscribers), rateText(event.rate1s),
                      rateText(event.rate10s), rateText(event.rate60s),
                      durationText(event.latency.p50Ns), durationText(event.latency.p99Ns) });
    }
    return rows;
}

QList<QStringList> handlerRows(const QList<HandlerStats> &handlers)
{
    QList<QStringList> rows{ { QStringLiteral("HANDLER"), QStringLiteral("CALLS"),
                               QStringLiteral("ERRORS"), QStringLiteral("DURATION P50"),
                               QStringLiteral("P99"), QStringLiteral("MAX") } };
    for (const HandlerStats &handler : handlers) {
        rows.append({ handler.name, QString::number(handler.calls), QString::number(handler.errors),
                      durationText(handler.duration.p50Ns), durationText(handler.duration.p99Ns),
                      durationText(handler.duration.maxNs) });
    }
    return rows;
}

QList<QStringList> processRows(const QList<ProcessInfo> &processes)
{
    QList<QStringList> rows{ { QStringLiteral("PID"), QStringLiteral("NAME"),
                               QStringLiteral("STATE"), QStringLiteral("PUBLISHED"),
                               QStringLiteral("RECEIVED"), QStringLiteral("HANDLER ERRORS"),
                               QStringLiteral("MISSED"), QStringLiteral("LAG") } };
    for (const ProcessInfo &process : processes) {
        rows.append({ QString::number(process.pid), process.name,
                      process.alive ? QStringLiteral("alive") : QStringLiteral("exited"),
                      QString::number(process.published), QString::number(process.received),
                      QString::number(process.handlerErrors), QString::number(process.missed),
                      QString::number(process.lag) });
    }
    return rows;
}

QByteArray sectionText(const QString &heading, const QList<QStringList> &rows,
                       const QString &emptyText)
{
    if (rows.size() <= 1) {
        return QStringLiteral("\n%1: %2\n").arg(heading, emptyText).toLocal8Bit();
    }
    return "\n" + heading.toLocal8Bit() + ":\n" + tableText(rows);
}

QString memoryLine(const PoolStats &stats)
{
    const qint64 percent = stats.heapSize > 0 ? stats.usedBytes * 100 / stats.heapSize : 0;
    return QStringLiteral("memory: %1 of %2 heap bytes used (%3%), largest free block %4 bytes, "
                          "%5 of %6 entries, %7 of %8 process slots attached")
            .arg(stats.usedBytes)
            .arg(stats.heapSize)
            .arg(percent)
            .arg(stats.largestFreeBlock)
            .arg(stats.entryCount)
            .arg(stats.maxEntries)
            .arg(stats.attachedProcesses)
            .arg(stats.maxAttachments);
}

// Returns one screen of 'mvent top': the pool's memory, its processes, the busiest events
// and the slowest handlers, at most `rows` of each of the last two.
QByteArray topBlock(const MonitoringTools &tools, int rows)
{
    const PoolStats stats = tools.memoryStats();
    QList<EventInfoStats> events = tools.eventStats();
    QList<HandlerStats> handlers = tools.handlerStats();

    std::stable_sort(events.begin(), events.end(),
                     [](const EventInfoStats &left, const EventInfoStats &right) {
                         if (left.rate1s != right.rate1s) {
                             return left.rate1s > right.rate1s;
                         }
                         return left.published > right.published;
                     });
    std::stable_sort(handlers.begin(), handlers.end(),
                     [](const HandlerStats &left, const HandlerStats &right) {
                         return left.duration.p99Ns > right.duration.p99Ns;
                     });
    events = events.mid(0, rows);
    handlers = handlers.mid(0, rows);

    QByteArray text =
            QStringLiteral("pool %1 at %2\n")
                    .arg(tools.poolName(), QDateTime::currentDateTime().toString(Qt::ISODate))
                    .toLocal8Bit();
    text += memoryLine(stats).toLocal8Bit() + '\n';
    text += sectionText(QStringLiteral("processes"), processRows(tools.processes()),
                        QStringLiteral("none"));
    text += sectionText(QStringLiteral("events by rate over the last second"), eventRows(events),
                        QStringLiteral("none recorded"));
    text += sectionText(QStringLiteral("handlers by p99 duration"), handlerRows(handlers),
                        QStringLiteral("none recorded"));
    return text;
}

// An IPv4 address and port that 'mvent metrics' listens on.
struct ListenAddress
{
    QString host;
    quint16 port = 0;
    bool loopback = false;
};

// Parses "HOST:PORT", where HOST is an IPv4 address or "localhost". Returns std::nullopt for
// other text. IPv6 is not accepted because Debian's civetweb, which prometheus::Exposer
// uses, is built without it and fails to bind "[::1]:PORT".
std::optional<ListenAddress> parseListenAddress(const QString &text)
{
    const qsizetype colon = text.lastIndexOf(QLatin1Char(':'));
    if (colon <= 0) {
        return std::nullopt;
    }
    ListenAddress address;
    address.host = text.left(colon);
    if (address.host == QLatin1String("localhost")) {
        address.host = QStringLiteral("127.0.0.1");
    }

    bool ok = false;
    const uint port = text.mid(colon + 1).toUInt(&ok);
    if (!ok || port > 65535) {
        return std::nullopt;
    }
    address.port = quint16(port);

    in_addr ipv4 = {};
    if (::inet_pton(AF_INET, address.host.toLatin1().constData(), &ipv4) != 1) {
        return std::nullopt;
    }
    // inet_pton() stores the address in network byte order, so the first octet is the
    // first byte in memory: 127.0.0.0/8 is the loopback range.
    address.loopback = reinterpret_cast<const unsigned char *>(&ipv4.s_addr)[0] == 127;
    return address;
}

/*
    Binds a TCP socket to \a address with SO_REUSEADDR, as civetweb does, to learn why civetweb
    could not listen there, because prometheus::Exposer reports only that the server did not
    start. Returns the reason with a fix, or an empty string if binding and listening succeed.
*/
QString bindFailure(const ListenAddress &address)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return QString::fromLocal8Bit(std::strerror(errno));
    }
    const int enable = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &enable, sizeof enable);
    sockaddr_in socketAddress = {};
    socketAddress.sin_family = AF_INET;
    socketAddress.sin_port = htons(address.port);
    ::inet_pton(AF_INET, address.host.toLatin1().constData(), &socketAddress.sin_addr);

    int failure = 0;
    if (::bind(fd, reinterpret_cast<const sockaddr *>(&socketAddress), sizeof socketAddress) != 0
        || ::listen(fd, 1) != 0) {
        failure = errno;
    }
    ::close(fd);

    switch (failure) {
    case 0:
        return QString();
    case EADDRINUSE:
        return QStringLiteral("the address is already in use by another socket; choose another "
                              "port with --listen, or port 0 for a free one");
    case EACCES:
        return QStringLiteral("permission denied, because ports below 1024 need privileges; "
                              "choose a port from 1024 to 65535 with --listen, or port 0 for a "
                              "free one");
    case EADDRNOTAVAIL:
        return QStringLiteral("the address belongs to no interface of this host; choose a "
                              "local address with --listen, such as 127.0.0.1");
    default:
        return QStringLiteral("%1; choose another address or port with --listen")
                .arg(QString::fromLocal8Bit(std::strerror(failure)));
    }
}

/*
    Reads the figures of the pools on each scrape. civetweb calls Collect() on its own
    threads, so a mutex serializes the scrapes, and each one opens its own MonitoringTools
    objects on the calling thread. Pools created after the start are found when no pool is
    named, and a pool that cannot be opened is reported with mvent_pool_up 0.
*/
class PoolCollectable : public prometheus::Collectable
{
public:
    explicit PoolCollectable(const QStringList &poolNames)
        : m_poolNames(poolNames)
    {
    }

    std::vector<prometheus::MetricFamily> Collect() const override
    {
        const std::lock_guard<std::mutex> lock(m_mutex);
        PoolMetrics metrics;
        const QStringList names = m_poolNames.isEmpty() ? SharedMemoryPool::pools() : m_poolNames;
        for (const QString &name : names) {
            const MonitoringTools tools(name);
            if (!tools.isAttached()) {
                reportFailure(name, tools.errorString());
                metrics.addUnavailablePool(name);
                continue;
            }
            if (m_failures.remove(name) > 0) {
                qCInfo(lcMetrics, "pool '%s' can be read again", qPrintable(name));
            }
            metrics.addPool(tools);
        }
        return metrics.collect();
    }

private:
    // Logs a failure to open a pool once, and again only when its message changes, so that
    // a pool that stays unreadable does not log on every scrape.
    void reportFailure(const QString &poolName, const QString &message) const
    {
        const auto previous = m_failures.constFind(poolName);
        if (previous != m_failures.constEnd() && *previous == message) {
            return;
        }
        m_failures.insert(poolName, message);
        qCWarning(lcMetrics,
                  "reading pool '%s' for a scrape failed, so it is reported with "
                  "mvent_pool_up 0: %s",
                  qPrintable(poolName), qPrintable(message));
    }

    const QStringList m_poolNames;
    mutable std::mutex m_mutex;
    mutable QHash<QString, QString> m_failures; // pool name to the last logged error
};

} // namespace

std::unique_ptr<MonitoringTools> openMonitoring(const QString &poolName)
{
    auto tools = std::make_unique<MonitoringTools>(poolName);
    if (tools->isAttached()) {
        return tools;
    }

    QString message = tools->errorString();
    if (tools->error() == SharedMemoryPool::NotFound) {
        message += missingPoolHint();
    }
    printError(message);
    return nullptr;
}

QByteArray eventAndHandlerTables(const MonitoringTools &tools)
{
    return sectionText(QStringLiteral("events"), eventRows(tools.eventStats()),
                       QStringLiteral("none recorded"))
            + sectionText(QStringLiteral("handlers"), handlerRows(tools.handlerStats()),
                          QStringLiteral("none recorded"));
}

int runMetrics(const QStringList &arguments)
{
    CommandLine commandLine(
            QStringLiteral("metrics"), QStringLiteral("[POOL...]"),
            QStringLiteral(
                    "Serves the figures of pools over HTTP at /metrics in the Prometheus text "
                    "format, for a Prometheus server to scrape. The metrics are those of 'mvent "
                    "stats --prometheus', read anew on each request. Without POOL, serves every "
                    "pool in the runtime directory, including pools created later. A pool that "
                    "cannot be read during a request is reported with mvent_pool_up 0 and a "
                    "warning on standard error. Prints 'listening on http://HOST:PORT/metrics' "
                    "once the port is bound, then runs until SIGINT or SIGTERM arrives and "
                    "exits with status 0. If the address cannot be bound, for example because "
                    "the port is in use, prints why and exits with status 1."));
    QCommandLineParser &parser = commandLine.parser();
    parser.addPositionalArgument(
            QStringLiteral("POOL"),
            poolArgumentDescription(QStringLiteral("Each named pool must exist at the start.")),
            QStringLiteral("[POOL...]"));
    const QCommandLineOption listenOption(
            QStringLiteral("listen"),
            QStringLiteral("IPv4 address and port to listen on (default: %1). Port 0 picks a "
                           "free port. Only loopback addresses (127.0.0.0/8, localhost) are "
                           "accepted unless --allow-remote is given.")
                    .arg(DefaultListenAddress),
            QStringLiteral("host:port"), DefaultListenAddress);
    const QCommandLineOption allowRemoteOption(
            QStringLiteral("allow-remote"),
            QStringLiteral("Accept a --listen address that is not loopback, such as 0.0.0.0, "
                           "so that other hosts can read the figures. The server has no "
                           "authentication or TLS."));
    parser.addOptions({ listenOption, allowRemoteOption });
    if (const std::optional<int> exitCode = commandLine.parse(arguments, 0, INT_MAX)) {
        return *exitCode;
    }

    const QString listenText = parser.value(listenOption);
    const std::optional<ListenAddress> address = parseListenAddress(listenText);
    if (!address) {
        return commandLine.usageError(
                QStringLiteral("invalid --listen value '%1': expected an IPv4 address and a "
                               "port from 0 to 65535, such as 127.0.0.1:9464")
                        .arg(listenText));
    }
    if (!address->loopback && !parser.isSet(allowRemoteOption)) {
        printError(QStringLiteral("--listen address '%1' is not a loopback address, so other "
                                  "hosts could read the pool figures; use 127.0.0.1, or add "
                                  "--allow-remote to listen on it anyway")
                           .arg(listenText));
        return ExitFailure;
    }

    const QStringList poolNames = parser.positionalArguments();
    for (const QString &name : poolNames) {
        if (!openMonitoring(name)) {
            return ExitFailure;
        }
    }

    const TerminationSignals signalHandling;
    if (!signalHandling.checkValid()) {
        return ExitFailure;
    }

    const auto collectable = std::make_shared<PoolCollectable>(poolNames);
    const QString bindAddress = QStringLiteral("%1:%2").arg(address->host).arg(address->port);
    std::unique_ptr<prometheus::Exposer> exposer;
    try {
        // civetweb gives each connection a worker thread until a request arrives. Two idle
        // clients took both default workers and blocked scrapes for 30 s, so use more workers
        // and a shorter wait for the request.
        exposer = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
                "listening_ports", bindAddress.toStdString(), "num_threads", "8",
                "request_timeout_ms", "5000"});
    } catch (const std::exception &error) {
        QString reason = bindFailure(*address);
        if (reason.isEmpty()) {
            // The socket can be bound now, so civetweb failed for another reason, or the port
            // was freed in the meantime.
            reason = QStringLiteral("the HTTP server did not start (civetweb: %1); try again, "
                                    "or choose another port with --listen")
                             .arg(QString::fromLocal8Bit(error.what()));
        }
        printError(QStringLiteral("listening on %1 failed: %2").arg(bindAddress, reason));
        return ExitFailure;
    }
    exposer->RegisterCollectable(collectable);

    const std::vector<int> ports = exposer->GetListeningPorts();
    const int port = ports.empty() ? address->port : ports.front();
    writeOutput(QStringLiteral("listening on http://%1:%2/metrics\n")
                        .arg(address->host)
                        .arg(port)
                        .toLocal8Bit());
    std::fflush(stdout);
    qCInfo(lcMetrics, "serving %s on %s:%d",
           poolNames.isEmpty() ? "every pool" : qPrintable(poolNames.join(QLatin1String(", "))),
           qPrintable(address->host), port);

    QCoreApplication::exec();
    // Destroying the exposer waits for requests in progress and closes the port.
    exposer.reset();
    qCInfo(lcMetrics, "stopped serving metrics on %s:%d", qPrintable(address->host), port);
    return ExitSuccess;
}

int runTop(const QStringList &arguments)
{
    CommandLine commandLine(
            QStringLiteral("top"), QStringLiteral("POOL"),
            QStringLiteral(
                    "Shows the figures of a pool, refreshed every --interval milliseconds: "
                    "memory, processes, the events with the highest rate over the last complete "
                    "second, and the handlers with the highest 99th percentile duration. When "
                    "standard output is a terminal, each refresh clears the screen. Otherwise "
                    "each refresh prints a block of plain text, with a blank line between "
                    "blocks. Runs until --count refreshes were printed or SIGINT or SIGTERM "
                    "arrives."));
    QCommandLineParser &parser = commandLine.parser();
    parser.addPositionalArgument(QStringLiteral("POOL"), poolArgumentDescription());
    const QCommandLineOption intervalOption(
            QStringLiteral("interval"),
            QStringLiteral("Time between refreshes in milliseconds (default: %1).")
                    .arg(DefaultTopIntervalMs),
            QStringLiteral("ms"), QString::number(DefaultTopIntervalMs));
    const QCommandLineOption countOption(
            QStringLiteral("count"),
            QStringLiteral("Exit after <n> refreshes (default: run until stopped)."),
            QStringLiteral("n"));
    const QCommandLineOption rowsOption(
            QStringLiteral("rows"),
            QStringLiteral("Maximum number of events and of handlers shown (default: %1).")
                    .arg(DefaultTopRows),
            QStringLiteral("n"), QString::number(DefaultTopRows));
    parser.addOptions({ intervalOption, countOption, rowsOption });
    if (const std::optional<int> exitCode = commandLine.parse(arguments, 1, 1)) {
        return *exitCode;
    }

    const std::optional<qint64> intervalMs = commandLine.integerOption(
            intervalOption, 1, QStringLiteral("a positive whole number of milliseconds"),
            INT_MAX);
    if (!intervalMs) {
        return ExitUsage;
    }
    qint64 count = 0;
    if (parser.isSet(countOption)) {
        const std::optional<qint64> countValue = commandLine.integerOption(
                countOption, 1, QStringLiteral("a positive whole number of refreshes"));
        if (!countValue) {
            return ExitUsage;
        }
        count = *countValue;
    }
    const std::optional<qint64> rowsValue = commandLine.integerOption(
            rowsOption, 1, QStringLiteral("a positive whole number"), INT_MAX);
    if (!rowsValue) {
        return ExitUsage;
    }
    const int rows = int(*rowsValue);

    // NOTE: the pool is opened once, so top keeps showing the last figures of a pool that was
    // removed while it runs.
    const std::unique_ptr<MonitoringTools> tools =
            openMonitoring(parser.positionalArguments().at(0));
    if (!tools) {
        return ExitFailure;
    }
    const TerminationSignals signalHandling;
    if (!signalHandling.checkValid()) {
        return ExitFailure;
    }

    const bool terminal = ::isatty(STDOUT_FILENO) == 1;
    qint64 printed = 0;
    const auto refresh = [&] {
        if (terminal) {
            // Moves the cursor to the top left corner, then clears the screen.
            writeOutput(QByteArrayLiteral("\x1b[H\x1b[2J"));
        } else if (printed > 0) {
            writeOutput(QByteArrayLiteral("\n"));
        }
        writeOutput(topBlock(*tools, rows));
        std::fflush(stdout);
        ++printed;
    };

    refresh();
    if (count > 0 && printed >= count) {
        return ExitSuccess;
    }
    QTimer timer;
    timer.setInterval(int(*intervalMs));
    QObject::connect(&timer, &QTimer::timeout, [&] {
        refresh();
        if (count > 0 && printed >= count) {
            timer.stop();
            QCoreApplication::quit();
        }
    });
    timer.start();
    QCoreApplication::exec();
    return ExitSuccess;
}

} // namespace mvent::cli
