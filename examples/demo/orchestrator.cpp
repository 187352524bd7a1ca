// SPDX-License-Identifier: MIT
#include "orchestrator.h"

#include "common.h"

#include <sharedmemorypool.h>

#include <QCoreApplication>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTimer>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <sys/prctl.h>
#include <vector>

using mvent::SharedMemoryPool;

namespace demo {

namespace {

// Time the children get beyond the demo duration to start, drain and report.
constexpr int GraceMs = 60000;

// One child process of the demo and what it reported.
struct Child
{
    QString role;
    QStringList arguments;
    QProcess process;
    qint64 pid = 0; // kept because QProcess reports 0 once the process has finished
    bool ready = false;
    QVariantMap report;
};

class Orchestrator
{
public:
    explicit Orchestrator(const DemoOptions &options)
        : m_options(options)
    {
    }

    int run();

private:
    Child *addChild(const QString &role, const QStringList &arguments);
    void start(Child *child);
    void readOutput(Child *child);
    void onChildFinished();
    int printReport();

    DemoOptions m_options;
    std::vector<std::unique_ptr<Child>> m_children;
    QList<Child *> m_consumers;
    QList<Child *> m_producers;
    bool m_producersStarted = false;
    bool m_timedOut = false;
};

Child *Orchestrator::addChild(const QString &role, const QStringList &arguments)
{
    auto child = std::make_unique<Child>();
    child->role = role;
    child->arguments = QStringList{ QStringLiteral("--role"), role, QStringLiteral("--pool"),
                                    m_options.poolName }
            + arguments;
    m_children.push_back(std::move(child));
    return m_children.back().get();
}

void Orchestrator::start(Child *child)
{
    QProcess &process = child->process;
    process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    // A child ends with this process, so an interrupted demo leaves no consumer waiting.
    process.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGTERM); });
    QObject::connect(&process, &QProcess::started, qApp,
                     [child] { child->pid = child->process.processId(); });
    QObject::connect(&process, &QProcess::readyReadStandardOutput, qApp,
                     [this, child] { readOutput(child); });
    QObject::connect(&process, &QProcess::finished, qApp, [this, child] {
        readOutput(child);
        onChildFinished();
    });
    process.start(QCoreApplication::applicationFilePath(), child->arguments);
}

void Orchestrator::readOutput(Child *child)
{
    while (child->process.canReadLine()) {
        const QString line = QString::fromUtf8(child->process.readLine()).trimmed();
        if (line == QLatin1String(ReadyLine)) {
            child->ready = true;
        } else if (line.startsWith(QLatin1String(ReportPrefix))) {
            const QByteArray json = line.mid(qsizetype(qstrlen(ReportPrefix))).toUtf8();
            child->report = QJsonDocument::fromJson(json).object().toVariantMap();
        } else {
            printLine(QStringLiteral("[%1] %2").arg(child->role.leftJustified(15), line));
        }
    }

    // Producers start once every consumer is subscribed, so no consumer misses their first
    // events.
    const bool consumersReady = std::all_of(m_consumers.cbegin(), m_consumers.cend(),
                                            [](const Child *c) { return c->ready; });
    if (consumersReady && !m_producersStarted) {
        m_producersStarted = true;
        for (Child *producer : std::as_const(m_producers)) {
            start(producer);
        }
    }
}

void Orchestrator::onChildFinished()
{
    const bool allFinished = std::all_of(m_children.cbegin(), m_children.cend(),
                                         [this](const std::unique_ptr<Child> &c) {
                                             return c->process.state() == QProcess::NotRunning
                                                     && (m_producersStarted
                                                         || !m_producers.contains(c.get()));
                                         });
    if (allFinished) {
        QCoreApplication::quit();
        return;
    }
    // A consumer that failed before it was ready would keep the producers from starting.
    if (!m_producersStarted) {
        printLine(QStringLiteral("a consumer exited before it was ready; stopping the demo"));
        QCoreApplication::exit(1);
    }
}

int Orchestrator::run()
{
    SharedMemoryPool::Options poolOptions;
    poolOptions.openMode = SharedMemoryPool::CreateOnly;
    // The event log is a quarter of this, 8 MiB, enough for minutes of demo events.
    poolOptions.size = 32 * 1024 * 1024;
    SharedMemoryPool pool(m_options.poolName, poolOptions);
    if (!pool.isAttached()) {
        std::fprintf(stderr, "mvent-demo: %s\n", qPrintable(pool.errorString()));
        if (pool.error() == SharedMemoryPool::AlreadyExists) {
            std::fprintf(stderr, "mvent-demo: remove it with 'mvent rm %s' or pick another "
                         "name with --pool\n", qPrintable(m_options.poolName));
        }
        return 1;
    }

    const QString durationMs = QString::number(m_options.durationSeconds * 1000);
    m_consumers = { addChild(QLatin1String(SystemConsumerRole), {}),
                    addChild(QLatin1String(TextConsumerRole), {}) };
    m_producers = {
        addChild(QLatin1String(SystemProducerRole),
                 { QStringLiteral("--duration-ms"), durationMs, QStringLiteral("--interval-ms"),
                   QString::number(m_options.systemIntervalMs) }),
        addChild(QLatin1String(TextProducerRole),
                 { QStringLiteral("--duration-ms"), durationMs, QStringLiteral("--interval-ms"),
                   QString::number(m_options.lineIntervalMs), QStringLiteral("--file"),
                   m_options.textPath }),
    };

    printLine(QStringLiteral("mvent demo: pool %1, %2 s, text file %3")
                      .arg(m_options.poolName)
                      .arg(m_options.durationSeconds)
                      .arg(m_options.textPath));
    QTimer::singleShot(m_options.durationSeconds * 1000 + GraceMs, qApp, [this] {
        m_timedOut = true;
        printLine(QStringLiteral("the children did not finish within %1 s of the duration; "
                                 "stopping them")
                          .arg(GraceMs / 1000));
        QCoreApplication::exit(1);
    });
    for (Child *consumer : std::as_const(m_consumers)) {
        start(consumer);
    }
    const int loopResult = QCoreApplication::exec();

    for (const std::unique_ptr<Child> &child : m_children) {
        if (child->process.state() != QProcess::NotRunning) {
            child->process.kill();
            child->process.waitForFinished();
        }
    }
    const int reportResult = printReport();
    pool.destroyPool();
    return loopResult != 0 || m_timedOut ? 1 : reportResult;
}

QString formatLatency(const QVariant &nanoseconds)
{
    if (!nanoseconds.isValid()) {
        return QStringLiteral("-");
    }
    return QStringLiteral("%1 us").arg(nanoseconds.toDouble() / 1000.0, 0, 'f', 1);
}

QString formatCount(const QVariant &count)
{
    return count.isValid() ? QString::number(count.toLongLong()) : QStringLiteral("-");
}

int Orchestrator::printReport()
{
    const QStringList header{ QStringLiteral("process"),  QStringLiteral("pid"),
                              QStringLiteral("exit"),     QStringLiteral("sent"),
                              QStringLiteral("received"), QStringLiteral("lost"),
                              QStringLiteral("latency p50"), QStringLiteral("latency p99") };
    QList<QStringList> rows{ header };
    bool success = true;
    for (const std::unique_ptr<Child> &child : m_children) {
        const QVariantMap &report = child->report;
        const bool exitedCleanly = child->process.exitStatus() == QProcess::NormalExit
                && child->process.exitCode() == 0 && !report.isEmpty();
        success = success && exitedCleanly;
        const bool isConsumer = m_consumers.contains(child.get());
        if (isConsumer) {
            success = success && report.value(QStringLiteral("lost")).toLongLong() == 0;
        }
        rows.append({ child->role, QString::number(child->pid),
                      exitedCleanly ? QStringLiteral("ok") : QStringLiteral("failed"),
                      formatCount(report.value(QStringLiteral("sent"))),
                      isConsumer ? formatCount(report.value(QStringLiteral("received")))
                                 : QStringLiteral("-"),
                      isConsumer ? formatCount(report.value(QStringLiteral("lost")))
                                 : QStringLiteral("-"),
                      formatLatency(report.value(QStringLiteral("p50Ns"))),
                      formatLatency(report.value(QStringLiteral("p99Ns"))) });
    }

    // Each consumer's "sent" comes from its producer's done event, so check it against the
    // count that the producer reported itself.
    for (int i = 0; i < m_consumers.size() && i < m_producers.size(); ++i) {
        const QVariant consumerSent = m_consumers.at(i)->report.value(QStringLiteral("sent"));
        const QVariant producerSent = m_producers.at(i)->report.value(QStringLiteral("sent"));
        if (!consumerSent.isValid() || consumerSent.toLongLong() != producerSent.toLongLong()) {
            success = false;
        }
    }

    QList<qsizetype> widths(header.size(), 0);
    for (const QStringList &row : std::as_const(rows)) {
        for (qsizetype column = 0; column < row.size(); ++column) {
            widths[column] = qMax(widths[column], row.at(column).size());
        }
    }
    printLine(QString());
    printLine(QStringLiteral("== report"));
    for (const QStringList &row : std::as_const(rows)) {
        QString line = row.at(0).leftJustified(widths.at(0));
        for (qsizetype column = 1; column < row.size(); ++column) {
            line += QStringLiteral("  ") + row.at(column).rightJustified(widths.at(column));
        }
        printLine(line);
    }
    printLine(QStringLiteral("latency: publisher's CLOCK_MONOTONIC in the event to the "
                             "consumer's handler call"));
    printLine(success ? QStringLiteral("result: ok, every consumer received every event sent")
                      : QStringLiteral("result: FAILED, see the table above"));
    return success ? 0 : 1;
}

} // namespace

int runOrchestrator(const DemoOptions &options)
{
    Orchestrator orchestrator(options);
    return orchestrator.run();
}

} // namespace demo
