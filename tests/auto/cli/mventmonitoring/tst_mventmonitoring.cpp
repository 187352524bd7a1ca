// SPDX-License-Identifier: MIT
// The stats, metrics and top commands of the mvent tool, run as real processes against a pool
// with known traffic from the traffic-peer helper.

#include <sharedmemorypool.h>

#include <QCoreApplication>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <memory>
#include <optional>

using mvent::SharedMemoryPool;

namespace {

constexpr int ProcessTimeoutMs = 60000;
constexpr int EventCount = 25;
const QString EventName = QStringLiteral("reading");

// Outcome of one finished run of the mvent tool.
struct Result
{
    int exitCode = -1; // -1 when the process crashed or did not finish
    QByteArray output;
    QByteArray errorOutput;
};

Result runProgram(const QString &program, const QStringList &arguments,
                  const QByteArray &input = QByteArray())
{
    QProcess process;
    process.start(program, arguments);
    Result result;
    if (!process.waitForStarted()) {
        result.errorOutput = process.errorString().toUtf8();
        return result;
    }
    process.write(input);
    process.closeWriteChannel();
    const bool finished = process.waitForFinished(ProcessTimeoutMs);
    result.output = process.readAllStandardOutput();
    result.errorOutput = process.readAllStandardError();
    if (finished && process.exitStatus() == QProcess::NormalExit) {
        result.exitCode = process.exitCode();
    }
    return result;
}

Result runMvent(const QStringList &arguments)
{
    return runProgram(QStringLiteral(MVENT_HELPER_MVENT), arguments);
}

// Returns the value of the sample of \a metric whose labels include every one of \a labels,
// or std::nullopt if the text has no such sample.
std::optional<double> sampleValue(const QByteArray &text, const QByteArray &metric,
                                  const QList<QByteArray> &labels)
{
    const QList<QByteArray> lines = text.split('\n');
    for (const QByteArray &line : lines) {
        if (!line.startsWith(metric + '{')) {
            continue;
        }
        const qsizetype labelsEnd = line.indexOf('}');
        const QByteArray labelText = line.mid(metric.size() + 1, labelsEnd - metric.size() - 1);
        const QList<QByteArray> lineLabels = labelText.split(',');
        bool matches = true;
        for (const QByteArray &label : labels) {
            matches = matches && lineLabels.contains(label);
        }
        if (matches) {
            bool ok = false;
            const double value = line.mid(labelsEnd + 1).trimmed().toDouble(&ok);
            return ok ? std::optional<double>(value) : std::nullopt;
        }
    }
    return std::nullopt;
}

QJsonObject findByName(const QJsonArray &array, const QString &name)
{
    for (const QJsonValue &value : array) {
        if (value.toObject().value(QStringLiteral("name")).toString() == name) {
            return value.toObject();
        }
    }
    return QJsonObject();
}

} // namespace

class tst_MventMonitoring : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();

    void statsJsonCountsTraffic();
    void statsTableListsEventsAndHandlers();
    void statsPrometheusPassesPromtool();
    void statsJsonWithPrometheusIsUsageError();
    void metricsServesScrape();
    void metricsServesEveryPool();
    void metricsRejectsRemoteAddress();
    void metricsRejectsMalformedAddress();
    void metricsBusyPortFails();
    void metricsMissingPoolFails();
    void topPrintsPlainBlocks();

private:
    QString startTraffic();
    QProcess *startMetrics(const QStringList &arguments, QUrl *url);
    QByteArray scrape(const QUrl &url);
    void checkWithPromtool(const QByteArray &text);

    std::unique_ptr<QTemporaryDir> m_runtimeDir;
    std::vector<std::unique_ptr<QProcess>> m_processes;
    QStringList m_pools;
    qint64 m_peerPid = 0;
};

void tst_MventMonitoring::initTestCase()
{
    if (qEnvironmentVariableIsEmpty("MVENT_RUNTIME_DIR")) {
        m_runtimeDir = std::make_unique<QTemporaryDir>();
        QVERIFY2(m_runtimeDir->isValid(), qPrintable(m_runtimeDir->errorString()));
        // QProcess passes the environment on, so the mvent processes use this directory too.
        qputenv("MVENT_RUNTIME_DIR", QFile::encodeName(m_runtimeDir->path()));
    }
}

void tst_MventMonitoring::cleanup()
{
    for (const std::unique_ptr<QProcess> &process : m_processes) {
        if (process->state() != QProcess::NotRunning) {
            process->closeWriteChannel(); // lets traffic-peer exit by itself
            if (!process->waitForFinished(5000)) {
                process->kill();
                process->waitForFinished();
            }
        }
    }
    m_processes.clear();
    for (const QString &name : std::as_const(m_pools)) {
        SharedMemoryPool::removePool(name);
    }
    m_pools.clear();
}

// Creates a pool in which traffic-peer published and handled EventCount events, and leaves
// the peer running until cleanup(). Returns the pool name, or an empty string on failure.
QString tst_MventMonitoring::startTraffic()
{
    const QString pool = QStringLiteral("tst-mventmonitoring-%1-%2")
                                 .arg(QCoreApplication::applicationPid())
                                 .arg(m_pools.size());
    m_pools.append(pool);

    auto peer = std::make_unique<QProcess>();
    peer->start(QStringLiteral(MVENT_HELPER_TRAFFIC_PEER),
                { pool, EventName, QString::number(EventCount) });
    if (!peer->waitForStarted()) {
        qWarning("traffic-peer did not start: %s", qPrintable(peer->errorString()));
        return QString();
    }
    m_peerPid = peer->processId();
    while (!peer->canReadLine()) {
        if (!peer->waitForReadyRead(ProcessTimeoutMs)) {
            qWarning("traffic-peer printed no line: %s", peer->readAllStandardError().constData());
            return QString();
        }
    }
    const QByteArray line = peer->readLine().trimmed();
    m_processes.push_back(std::move(peer));
    if (line != "done") {
        qWarning("traffic-peer printed '%s' instead of 'done'", line.constData());
        return QString();
    }
    return pool;
}

// Starts 'mvent metrics' with \a arguments and sets \a url from the line it prints once it
// listens. Returns nullptr if it exits or prints something else.
QProcess *tst_MventMonitoring::startMetrics(const QStringList &arguments, QUrl *url)
{
    auto process = std::make_unique<QProcess>();
    process->start(QStringLiteral(MVENT_HELPER_MVENT),
                   QStringList{ QStringLiteral("metrics") } + arguments);
    if (!process->waitForStarted()) {
        qWarning("mvent metrics did not start: %s", qPrintable(process->errorString()));
        return nullptr;
    }
    while (!process->canReadLine()) {
        if (!process->waitForReadyRead(ProcessTimeoutMs)) {
            qWarning("mvent metrics printed no address: %s",
                     process->readAllStandardError().constData());
            return nullptr;
        }
    }
    const QByteArray line = process->readLine().trimmed();
    const QByteArray prefix = "listening on ";
    if (!line.startsWith(prefix)) {
        qWarning("mvent metrics printed '%s' instead of the address", line.constData());
        return nullptr;
    }
    *url = QUrl(QString::fromUtf8(line.mid(prefix.size())));
    m_processes.push_back(std::move(process));
    return m_processes.back().get();
}

// Fetches \a url with QNetworkAccessManager. Returns the body, or an empty array after a
// warning when the request fails.
QByteArray tst_MventMonitoring::scrape(const QUrl &url)
{
    QNetworkAccessManager manager;
    QNetworkRequest request(url);
    request.setTransferTimeout(ProcessTimeoutMs);
    std::unique_ptr<QNetworkReply> reply(manager.get(request));
    QSignalSpy finished(reply.get(), &QNetworkReply::finished);
    if (!reply->isFinished() && !finished.wait(ProcessTimeoutMs)) {
        qWarning("GET %s did not finish", qPrintable(url.toString()));
        return QByteArray();
    }
    if (reply->error() != QNetworkReply::NoError) {
        qWarning("GET %s failed: %s", qPrintable(url.toString()), qPrintable(reply->errorString()));
        return QByteArray();
    }
    return reply->readAll();
}

// Checks \a text with 'promtool check metrics', which parses the exposition format and lints
// names, HELP texts, counter suffixes and reserved labels. Skips the test without promtool.
void tst_MventMonitoring::checkWithPromtool(const QByteArray &text)
{
    const QString promtool = QStandardPaths::findExecutable(QStringLiteral("promtool"));
    if (promtool.isEmpty()) {
        QSKIP("promtool not found in PATH, so the Prometheus text is not validated; install "
              "Debian's prometheus package (./run.sh test installs it)");
    }
    const Result result =
            runProgram(promtool, { QStringLiteral("check"), QStringLiteral("metrics") }, text);
    QVERIFY2(result.exitCode == 0,
             qPrintable(QStringLiteral("promtool exited with %1: %2%3")
                                .arg(result.exitCode)
                                .arg(QString::fromUtf8(result.output),
                                     QString::fromUtf8(result.errorOutput))));
}

void tst_MventMonitoring::statsJsonCountsTraffic()
{
    const QString pool = startTraffic();
    QVERIFY(!pool.isEmpty());

    const Result stats = runMvent({ QStringLiteral("stats"), pool, QStringLiteral("--json") });
    QCOMPARE(stats.errorOutput, QByteArray());
    QCOMPARE(stats.exitCode, 0);
    const QJsonObject object = QJsonDocument::fromJson(stats.output).object();
    QVERIFY2(!object.isEmpty(), stats.output.constData());

    // The memory figures keep their place at the top level.
    QCOMPARE(object.value(QStringLiteral("name")).toString(), pool);
    QVERIFY(object.value(QStringLiteral("usedBytes")).toInteger() > 0);
    QCOMPARE(object.value(QStringLiteral("eventSequence")).toInteger(), EventCount);

    const QJsonObject event =
            findByName(object.value(QStringLiteral("events")).toArray(), EventName);
    QVERIFY2(!event.isEmpty(), stats.output.constData());
    QCOMPARE(event.value(QStringLiteral("published")).toInteger(), EventCount);
    QCOMPARE(event.value(QStringLiteral("received")).toInteger(), EventCount);
    QCOMPARE(event.value(QStringLiteral("subscribers")).toInteger(), 1);
    QCOMPARE(event.value(QStringLiteral("latency"))
                     .toObject()
                     .value(QStringLiteral("count"))
                     .toInteger(),
             EventCount);

    const QJsonArray handlers = object.value(QStringLiteral("handlers")).toArray();
    QCOMPARE(handlers.size(), 1);
    const QJsonObject handler = handlers.at(0).toObject();
    QVERIFY2(handler.value(QStringLiteral("name")).toString().startsWith(EventName + u'#'),
             stats.output.constData());
    QCOMPARE(handler.value(QStringLiteral("calls")).toInteger(), EventCount);
    QCOMPARE(handler.value(QStringLiteral("errors")).toInteger(), 0);

    QJsonObject peer;
    for (const QJsonValue &process : object.value(QStringLiteral("processes")).toArray()) {
        if (process.toObject().value(QStringLiteral("pid")).toInteger() == m_peerPid) {
            peer = process.toObject();
        }
    }
    QVERIFY2(!peer.isEmpty(), stats.output.constData());
    QCOMPARE(peer.value(QStringLiteral("alive")).toBool(), true);
    QCOMPARE(peer.value(QStringLiteral("published")).toInteger(), EventCount);
    QCOMPARE(peer.value(QStringLiteral("received")).toInteger(), EventCount);
}

void tst_MventMonitoring::statsTableListsEventsAndHandlers()
{
    const QString pool = startTraffic();
    QVERIFY(!pool.isEmpty());

    const Result stats = runMvent({ QStringLiteral("stats"), pool });
    QCOMPARE(stats.exitCode, 0);
    QVERIFY2(stats.output.startsWith("name"), stats.output.constData());
    QVERIFY2(stats.output.contains("\nevents:\nEVENT"), stats.output.constData());
    QVERIFY2(stats.output.contains("\nhandlers:\nHANDLER"), stats.output.constData());
    const QRegularExpression eventRow(
            QStringLiteral("\\n%1 +%2 +%2 +1 ").arg(EventName).arg(EventCount));
    QVERIFY2(QString::fromUtf8(stats.output).contains(eventRow), stats.output.constData());
}

void tst_MventMonitoring::statsPrometheusPassesPromtool()
{
    const QString pool = startTraffic();
    QVERIFY(!pool.isEmpty());

    const Result stats =
            runMvent({ QStringLiteral("stats"), pool, QStringLiteral("--prometheus") });
    QCOMPARE(stats.errorOutput, QByteArray());
    QCOMPARE(stats.exitCode, 0);

    const QByteArray poolLabel = "pool=\"" + pool.toUtf8() + '"';
    const QByteArray eventLabel = "event=\"" + EventName.toUtf8() + '"';
    QCOMPARE(sampleValue(stats.output, "mvent_events_published_total", { poolLabel, eventLabel }),
             double(EventCount));
    QCOMPARE(sampleValue(stats.output, "mvent_events_received_total", { poolLabel, eventLabel }),
             double(EventCount));
    QCOMPARE(sampleValue(stats.output, "mvent_event_latency_seconds_count",
                         { poolLabel, eventLabel }),
             double(EventCount));
    QVERIFY(sampleValue(stats.output, "mvent_event_latency_seconds",
                        { poolLabel, eventLabel, "quantile=\"0.99\"" }));
    QVERIFY(sampleValue(stats.output, "mvent_event_rate_per_second",
                        { poolLabel, eventLabel, "window=\"10s\"" }));
    QCOMPARE(sampleValue(stats.output, "mvent_pool_up", { poolLabel }), 1.0);
    QCOMPARE(sampleValue(stats.output, "mvent_process_published_total",
                         { poolLabel, "pid=\"" + QByteArray::number(m_peerPid) + '"' }),
             double(EventCount));
    QVERIFY2(stats.output.contains("# HELP mvent_handler_calls_total "), stats.output.constData());
    QVERIFY2(stats.output.contains("# TYPE mvent_handler_duration_seconds summary"),
             stats.output.constData());

    checkWithPromtool(stats.output);
}

void tst_MventMonitoring::statsJsonWithPrometheusIsUsageError()
{
    const Result stats = runMvent({ QStringLiteral("stats"), QStringLiteral("any"),
                                    QStringLiteral("--json"), QStringLiteral("--prometheus") });
    QCOMPARE(stats.exitCode, 2);
    QVERIFY2(stats.errorOutput.contains("--json and --prometheus cannot be combined"),
             stats.errorOutput.constData());
}

void tst_MventMonitoring::metricsServesScrape()
{
    const QString pool = startTraffic();
    QVERIFY(!pool.isEmpty());

    QUrl url;
    QProcess *metrics =
            startMetrics({ QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"), pool }, &url);
    QVERIFY(metrics);
    QCOMPARE(url.host(), QStringLiteral("127.0.0.1"));
    QVERIFY2(url.port() > 0, qPrintable(url.toString()));
    QCOMPARE(url.path(), QStringLiteral("/metrics"));

    const QByteArray body = scrape(url);
    QVERIFY(!body.isEmpty());
    const QByteArray poolLabel = "pool=\"" + pool.toUtf8() + '"';
    QCOMPARE(sampleValue(body, "mvent_events_published_total",
                         { poolLabel, "event=\"" + EventName.toUtf8() + '"' }),
             double(EventCount));
    checkWithPromtool(body);

    ::kill(pid_t(metrics->processId()), SIGTERM);
    QVERIFY(metrics->waitForFinished(ProcessTimeoutMs));
    QCOMPARE(metrics->exitStatus(), QProcess::NormalExit);
    QCOMPARE(metrics->exitCode(), 0);
}

void tst_MventMonitoring::metricsServesEveryPool()
{
    const QString first = startTraffic();
    QVERIFY(!first.isEmpty());
    const QString second = startTraffic();
    QVERIFY(!second.isEmpty());

    QUrl url;
    QProcess *metrics =
            startMetrics({ QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0") }, &url);
    QVERIFY(metrics);
    const QByteArray body = scrape(url);
    for (const QString &pool : { first, second }) {
        QCOMPARE(sampleValue(body, "mvent_pool_up", { "pool=\"" + pool.toUtf8() + '"' }), 1.0);
    }

    ::kill(pid_t(metrics->processId()), SIGINT);
    QVERIFY(metrics->waitForFinished(ProcessTimeoutMs));
    QCOMPARE(metrics->exitCode(), 0);
}

void tst_MventMonitoring::metricsRejectsRemoteAddress()
{
    // The address is checked before anything binds, so no socket is opened on it.
    const Result metrics = runMvent(
            { QStringLiteral("metrics"), QStringLiteral("--listen"), QStringLiteral("0.0.0.0:0") });
    QCOMPARE(metrics.exitCode, 1);
    QCOMPARE(metrics.output, QByteArray());
    QVERIFY2(metrics.errorOutput.contains("'0.0.0.0:0' is not a loopback address"),
             metrics.errorOutput.constData());
    QVERIFY2(metrics.errorOutput.contains("--allow-remote"), metrics.errorOutput.constData());
}

void tst_MventMonitoring::metricsRejectsMalformedAddress()
{
    const Result metrics = runMvent({ QStringLiteral("metrics"), QStringLiteral("--listen"),
                                      QStringLiteral("127.0.0.1:http") });
    QCOMPARE(metrics.exitCode, 2);
    QVERIFY2(metrics.errorOutput.contains("invalid --listen value '127.0.0.1:http'"),
             metrics.errorOutput.constData());
}

void tst_MventMonitoring::metricsBusyPortFails()
{
    QTcpServer holder;
    QVERIFY2(holder.listen(QHostAddress::LocalHost, 0), qPrintable(holder.errorString()));
    const QByteArray address = "127.0.0.1:" + QByteArray::number(holder.serverPort());

    const Result metrics = runMvent({ QStringLiteral("metrics"), QStringLiteral("--listen"),
                                      QString::fromLatin1(address) });
    QCOMPARE(metrics.exitCode, 1);
    QCOMPARE(metrics.output, QByteArray());
    QCOMPARE(metrics.errorOutput,
             "mvent: listening on " + address
                     + " failed: the address is already in use by another socket; choose "
                       "another port with --listen, or port 0 for a free one\n");
}

void tst_MventMonitoring::metricsMissingPoolFails()
{
    const Result metrics = runMvent({ QStringLiteral("metrics"), QStringLiteral("--listen"),
                                      QStringLiteral("127.0.0.1:0"),
                                      QStringLiteral("tst-mventmonitoring-missing") });
    QCOMPARE(metrics.exitCode, 1);
    QCOMPARE(metrics.output, QByteArray());
    QVERIFY2(metrics.errorOutput.contains("run 'mvent pools'"), metrics.errorOutput.constData());
}

void tst_MventMonitoring::topPrintsPlainBlocks()
{
    const QString pool = startTraffic();
    QVERIFY(!pool.isEmpty());

    // QProcess connects standard output to a pipe, so top prints plain blocks.
    const Result top =
            runMvent({ QStringLiteral("top"), pool, QStringLiteral("--count"), QStringLiteral("2"),
                       QStringLiteral("--interval"), QStringLiteral("10") });
    QCOMPARE(top.errorOutput, QByteArray());
    QCOMPARE(top.exitCode, 0);
    QVERIFY2(!top.output.contains('\x1b'), top.output.constData());

    const QStringList parts =
            QString::fromUtf8(top.output).split(QStringLiteral("\n\npool "), Qt::KeepEmptyParts);
    QCOMPARE(parts.size(), 2);
    QVERIFY2(parts.at(0).startsWith(QStringLiteral("pool %1 at ").arg(pool)),
             top.output.constData());
    QVERIFY2(parts.at(1).startsWith(QStringLiteral("%1 at ").arg(pool)), top.output.constData());
    for (const QString &part : parts) {
        QVERIFY2(part.contains(QStringLiteral("\n%1 ").arg(EventName)), top.output.constData());
        QVERIFY2(part.contains(QStringLiteral("memory: ")), top.output.constData());
    }
}

QTEST_GUILESS_MAIN(tst_MventMonitoring)
#include "tst_mventmonitoring.moc"
