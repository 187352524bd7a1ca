// SPDX-License-Identifier: MIT
#include "orchestrator.h"

#include "child.h"
#include "common.h"
#include "report.h"
#include "terminationsignals.h"

#include <sharedmemorypool.h>

#include <QCoreApplication>
#include <QJsonDocument>
#include <QJsonObject>
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
// Time the children get to report and exit after SIGTERM before they are killed. It leaves
// room for a consumer's wait for its producer's done event, DoneWaitAfterSignalMs (1 s).
constexpr int StopGraceMs = 5000;

class Orchestrator
{
public:
    Orchestrator(const DemoOptions &options, TerminationSignals &terminationSignals)
        : m_options(options)
        , m_terminationSignals(terminationSignals)
    {
    }

    int run();

private:
    Child *addChild(const QString &role, const QStringList &arguments);
    void start(Child *child);
    void readOutput(Child *child);
    void onChildFinished(Child *child);
    void onChildError(Child *child, QProcess::ProcessError error);
    void onSignal(int signalNumber);
    void stopChildren();
    void killRunningChildren();
    void quitIfAllFinished();

    DemoOptions m_options;
    TerminationSignals &m_terminationSignals;
    std::vector<std::unique_ptr<Child>> m_children;
    QList<Child *> m_consumers;
    QList<Child *> m_producers;
    QTimer m_killTimer;
    bool m_producersStarted = false;
    bool m_stopping = false; // set once the children were asked to stop
    RunEnd m_end;
};

void printError(const QString &message)
{
    std::fprintf(stderr, "mvent-demo: %s\n", qPrintable(message));
}

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
        onChildFinished(child);
    });
    QObject::connect(&process, &QProcess::errorOccurred, qApp,
                     [this, child](QProcess::ProcessError error) { onChildError(child, error); });
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
    if (consumersReady && !m_producersStarted && !m_stopping) {
        m_producersStarted = true;
        for (Child *producer : std::as_const(m_producers)) {
            start(producer);
        }
    }
}

// A child that ends without its report leaves the others waiting. A consumer that failed
// before it was ready keeps the producers from starting, and a failed producer never sends
// the done event that its consumer waits for. So any such exit stops the demo.
void Orchestrator::onChildFinished(Child *child)
{
    const QProcess &process = child->process;
    const bool reported = process.exitStatus() == QProcess::NormalExit && !child->report.isEmpty();
    if (!reported && !m_stopping) {
        m_end.childFailed = true;
        if (process.exitStatus() == QProcess::CrashExit) {
            printError(QStringLiteral("%1 (pid %2) was killed by a signal or crashed; stopping "
                                      "the demo")
                               .arg(child->role)
                               .arg(child->pid));
        } else {
            printError(QStringLiteral("%1 (pid %2) exited with status %3 without a report; "
                                      "stopping the demo")
                               .arg(child->role)
                               .arg(child->pid)
                               .arg(process.exitCode()));
        }
        stopChildren();
    }
    quitIfAllFinished();
}

void Orchestrator::onChildError(Child *child, QProcess::ProcessError error)
{
    // Other errors, such as a crash, also end in finished(), which onChildFinished() handles.
    if (error != QProcess::FailedToStart) {
        return;
    }
    printError(QStringLiteral("starting %1 from %2 failed: %3; stopping the demo")
                       .arg(child->role, QCoreApplication::applicationFilePath(),
                            child->process.errorString()));
    m_end.childFailed = true;
    stopChildren();
    quitIfAllFinished();
}

void Orchestrator::onSignal(int signalNumber)
{
    // A second signal, as from pressing Ctrl-C twice, means the user does not want to wait.
    if (m_stopping) {
        if (m_end.stopSignal == 0) {
            m_end.stopSignal = signalNumber;
        }
        printError(QStringLiteral("%1 received while stopping; killing the children")
                           .arg(signalName(signalNumber)));
        killRunningChildren();
        return;
    }
    m_end.stopSignal = signalNumber;
    printError(QStringLiteral("%1 received; stopping the children, then printing the report")
                       .arg(signalName(signalNumber)));
    stopChildren();
    quitIfAllFinished();
}

// Sends SIGTERM to every running child, so that each stops and reports what it counted, and
// kills the ones still running StopGraceMs later.
void Orchestrator::stopChildren()
{
    if (m_stopping) {
        return;
    }
    m_stopping = true;
    for (const std::unique_ptr<Child> &child : m_children) {
        if (child->process.state() != QProcess::NotRunning) {
            child->process.terminate();
        }
    }
    m_killTimer.setSingleShot(true);
    QObject::connect(&m_killTimer, &QTimer::timeout, qApp, [this] {
        QStringList running;
        for (const std::unique_ptr<Child> &child : m_children) {
            if (child->process.state() != QProcess::NotRunning) {
                running.append(QStringLiteral("%1 (pid %2)").arg(child->role).arg(child->pid));
            }
        }
        printError(QStringLiteral("%1 still running %2 s after SIGTERM; killing them")
                           .arg(running.join(QStringLiteral(", ")))
                           .arg(StopGraceMs / 1000));
        killRunningChildren();
    });
    m_killTimer.start(StopGraceMs);
}

void Orchestrator::killRunningChildren()
{
    for (const std::unique_ptr<Child> &child : m_children) {
        if (child->process.state() != QProcess::NotRunning) {
            child->process.kill();
        }
    }
}

void Orchestrator::quitIfAllFinished()
{
    for (const std::unique_ptr<Child> &child : m_children) {
        if (child->process.state() != QProcess::NotRunning) {
            return;
        }
        // Producers start once the consumers are ready, unless the demo is stopping.
        if (!m_producersStarted && !m_stopping && m_producers.contains(child.get())) {
            return;
        }
    }
    // Queued, because QProcess can report a failed start from within start(), before exec()
    // runs, and quit() does nothing while no event loop runs.
    QMetaObject::invokeMethod(qApp, &QCoreApplication::quit, Qt::QueuedConnection);
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
        if (m_stopping) {
            return;
        }
        m_end.timedOut = true;
        printError(QStringLiteral("the children did not finish within %1 s after the "
                                  "duration; stopping them")
                           .arg(GraceMs / 1000));
        stopChildren();
    });
    QObject::connect(&m_terminationSignals, &TerminationSignals::received, qApp,
                     [this](int signalNumber) { onSignal(signalNumber); });
    for (Child *consumer : std::as_const(m_consumers)) {
        start(consumer);
    }
    QCoreApplication::exec();

    // The loop ends only once every child finished, so this is a safety net.
    killRunningChildren();
    for (const std::unique_ptr<Child> &child : m_children) {
        if (child->process.state() != QProcess::NotRunning) {
            child->process.waitForFinished();
        }
    }
    const int reportResult = printReport(m_children, m_consumers, m_producers, m_end);
    // Detaching first lets removePool() find the pool unused by this process.
    pool.detach();
    QString removeError;
    if (!SharedMemoryPool::removePool(m_options.poolName, &removeError)) {
        printError(QStringLiteral("removing pool %1 failed: %2; remove it with 'mvent rm %1'")
                           .arg(m_options.poolName, removeError));
    }
    if (m_end.stopSignal != 0) {
        return 128 + m_end.stopSignal;
    }
    return m_end.childFailed || m_end.timedOut ? 1 : reportResult;
}

} // namespace

int runOrchestrator(const DemoOptions &options, TerminationSignals &terminationSignals)
{
    Orchestrator orchestrator(options, terminationSignals);
    return orchestrator.run();
}

} // namespace demo
