// SPDX-License-Identifier: MIT
#include <monitoringtools.h>
#include <sharedmemorypool.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <unistd.h>

using namespace mvent;

class tst_MonitoringTools : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void readsFiguresOfAnotherProcess();
    void keepsFiguresOfExitedProcess();
    void wrapHandlerCountsCallsAndErrors();
    void clearKeepsFigures();
    void missingPoolIsReported();

private:
    QString createPool(const char *tag);
    std::unique_ptr<QProcess> startPeer(const QString &pool, const QString &event, int count);
    static const EventInfoStats *findEvent(const QList<EventInfoStats> &events, const QString &name);

    std::unique_ptr<QTemporaryDir> m_runtimeDir;
    std::vector<std::unique_ptr<SharedMemoryPool>> m_pools;
    int m_counter = 0;
};

void tst_MonitoringTools::initTestCase()
{
    if (qEnvironmentVariableIsEmpty("MVENT_RUNTIME_DIR")) {
        m_runtimeDir = std::make_unique<QTemporaryDir>();
        QVERIFY2(m_runtimeDir->isValid(), qPrintable(m_runtimeDir->errorString()));
        qputenv("MVENT_RUNTIME_DIR", QFile::encodeName(m_runtimeDir->path()));
    }
}

void tst_MonitoringTools::cleanup()
{
    for (const std::unique_ptr<SharedMemoryPool> &pool : m_pools) {
        if (pool->isAttached()) {
            pool->destroyPool();
        }
    }
    m_pools.clear();
}

QString tst_MonitoringTools::createPool(const char *tag)
{
    // Large enough that every process gets a stats block with room for its names.
    SharedMemoryPool::Options options;
    options.size = 8 * 1024 * 1024;
    const QString name = QStringLiteral("tst-mon-%1-%2-%3").arg(QLatin1String(tag)).arg(::getpid()).arg(++m_counter);
    m_pools.push_back(std::make_unique<SharedMemoryPool>(name, options));
    return m_pools.back()->isAttached() ? name : QString();
}

std::unique_ptr<QProcess> tst_MonitoringTools::startPeer(const QString &pool, const QString &event,
                                                         int count)
{
    auto peer = std::make_unique<QProcess>();
    peer->start(QStringLiteral(MVENT_HELPER_MONITOR_PEER), {pool, event, QString::number(count)});
    return peer;
}

const EventInfoStats *tst_MonitoringTools::findEvent(const QList<EventInfoStats> &events,
                                                     const QString &name)
{
    for (const EventInfoStats &event : events) {
        if (event.name == name) {
            return &event;
        }
    }
    return nullptr;
}

void tst_MonitoringTools::readsFiguresOfAnotherProcess()
{
    const QString pool = createPool("alive");
    QVERIFY(!pool.isEmpty());
    std::unique_ptr<QProcess> peer = startPeer(pool, QStringLiteral("tick"), 50);
    QVERIFY(peer->waitForStarted());
    QByteArray output;
    QTRY_VERIFY2((output += peer->readAllStandardOutput()).contains("done")
                         || peer->state() != QProcess::Running,
                 peer->readAllStandardError().constData());
    QCOMPARE(peer->state(), QProcess::Running);

    MonitoringTools monitor(pool);
    QVERIFY2(monitor.isAttached(), qPrintable(monitor.errorString()));

    const QList<EventInfoStats> events = monitor.eventStats();
    const EventInfoStats *tick = findEvent(events, QStringLiteral("tick"));
    QVERIFY(tick);
    QCOMPARE(tick->published, quint64(50));
    QCOMPARE(tick->received, quint64(50));
    QCOMPARE(tick->subscribers, 1);
    QCOMPARE(tick->latency.count, quint64(50));
    QVERIFY(tick->latency.p50Ns > 0);
    QVERIFY(tick->latency.p99Ns >= tick->latency.p50Ns);
    QVERIFY(tick->bytes > 0);

    const QList<HandlerStats> handlers = monitor.handlerStats();
    QCOMPARE(handlers.size(), 1);
    QCOMPARE(handlers.first().name, QStringLiteral("tick#1"));
    QCOMPARE(handlers.first().calls, quint64(50));
    QCOMPARE(handlers.first().errors, quint64(5));
    QCOMPARE(handlers.first().duration.count, quint64(50));

    const QList<ProcessInfo> processes = monitor.processes();
    int alive = 0;
    for (const ProcessInfo &process : processes) {
        if (process.pid == peer->processId()) {
            QVERIFY(process.alive);
            QVERIFY(process.hasStats);
            QCOMPARE(process.published, quint64(50));
            QCOMPARE(process.received, quint64(50));
            QCOMPARE(process.handlerCalls, quint64(50));
            QCOMPARE(process.handlerErrors, quint64(5));
            QCOMPARE(process.name, QStringLiteral("monitor-peer"));
            ++alive;
        }
    }
    QCOMPARE(alive, 1);

    // The same figures as nested maps, for JSON and QML.
    const QVariantMap map = monitor.toVariantMap();
    QCOMPARE(map.value(QStringLiteral("events")).toList().size(), events.size());
    QCOMPARE(map.value(QStringLiteral("memory")).toMap().value(QStringLiteral("name")).toString(), pool);

    peer->closeWriteChannel();
    QVERIFY(peer->waitForFinished());
}

void tst_MonitoringTools::keepsFiguresOfExitedProcess()
{
    const QString pool = createPool("exited");
    QVERIFY(!pool.isEmpty());
    std::unique_ptr<QProcess> peer = startPeer(pool, QStringLiteral("gone"), 20);
    QVERIFY(peer->waitForStarted());
    QByteArray output;
    QTRY_VERIFY2((output += peer->readAllStandardOutput()).contains("done")
                         || peer->state() != QProcess::Running,
                 peer->readAllStandardError().constData());
    const qint64 pid = peer->processId();
    peer->kill();
    QVERIFY(peer->waitForFinished());

    MonitoringTools monitor(pool);
    QVERIFY2(monitor.isAttached(), qPrintable(monitor.errorString()));
    bool found = false;
    for (const ProcessInfo &process : monitor.processes()) {
        if (process.pid == pid) {
            found = true;
            QVERIFY(!process.alive);
            QCOMPARE(process.published, quint64(20));
        }
    }
    QVERIFY(found);
    // findEvent() points into the list, so the list must outlive the pointer.
    const QList<EventInfoStats> goneEvents = monitor.eventStats();
    const EventInfoStats *gone = findEvent(goneEvents, QStringLiteral("gone"));
    QVERIFY(gone);
    QCOMPARE(gone->published, quint64(20));
}

void tst_MonitoringTools::wrapHandlerCountsCallsAndErrors()
{
    const QString pool = createPool("wrap");
    QVERIFY(!pool.isEmpty());
    MonitoringTools monitor(pool);
    QVERIFY2(monitor.isAttached(), qPrintable(monitor.errorString()));

    int calls = 0;
    auto reported = monitor.wrapHandler(QStringLiteral("reported"), [&](const QVariant &value) {
        ++calls;
        if (value.toBool()) {
            throw std::runtime_error("failed on request");
        }
    });
    auto rethrown = monitor.wrapHandler(QStringLiteral("rethrown"), [](const QVariant &) {
        throw std::runtime_error("always fails");
    }, MonitoringTools::Rethrow);

    QTest::ignoreMessage(QtWarningMsg, "handler reported threw: failed on request");
    reported(false);
    reported(true);
    reported(false);
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, rethrown(QVariant()));
    monitor.recordEvent(QStringLiteral("manual"), 10);
    monitor.recordEvent(QStringLiteral("manual"), 5);

    QCOMPARE(calls, 3);
    bool sawReported = false;
    bool sawRethrown = false;
    for (const HandlerStats &handler : monitor.handlerStats()) {
        if (handler.name == QLatin1String("reported")) {
            sawReported = true;
            QCOMPARE(handler.calls, quint64(3));
            QCOMPARE(handler.errors, quint64(1));
        } else if (handler.name == QLatin1String("rethrown")) {
            sawRethrown = true;
            QCOMPARE(handler.calls, quint64(1));
            QCOMPARE(handler.errors, quint64(1));
        }
    }
    QVERIFY(sawReported);
    QVERIFY(sawRethrown);
    // findEvent() points into the list, so the list must outlive the pointer.
    const QList<EventInfoStats> manualEvents = monitor.eventStats();
    const EventInfoStats *manual = findEvent(manualEvents, QStringLiteral("manual"));
    QVERIFY(manual);
    QCOMPARE(manual->published, quint64(2));
    QCOMPARE(manual->bytes, quint64(15));
}

void tst_MonitoringTools::clearKeepsFigures()
{
    const QString pool = createPool("clear");
    QVERIFY(!pool.isEmpty());
    MonitoringTools monitor(pool);
    monitor.recordEvent(QStringLiteral("before-clear"));
    QVERIFY(m_pools.back()->set(QStringLiteral("key"), 1));
    QVERIFY(m_pools.back()->clear());
    monitor.recordEvent(QStringLiteral("before-clear"));

    // findEvent() points into the list, so the list must outlive the pointer.
    const QList<EventInfoStats> eventEvents = monitor.eventStats();
    const EventInfoStats *event = findEvent(eventEvents, QStringLiteral("before-clear"));
    QVERIFY(event);
    QCOMPARE(event->published, quint64(2));
    const PoolStats memory = monitor.memoryStats();
    QVERIFY(memory.statsBytes > 0);
    QCOMPARE(memory.usedBytes, memory.statsBytes);
}

void tst_MonitoringTools::missingPoolIsReported()
{
    MonitoringTools monitor(QStringLiteral("tst-mon-missing-%1").arg(::getpid()));
    QVERIFY(!monitor.isAttached());
    QCOMPARE(monitor.error(), SharedMemoryPool::NotFound);
    QVERIFY(monitor.eventStats().isEmpty());
    QVERIFY(monitor.processes().isEmpty());
}

QTEST_GUILESS_MAIN(tst_MonitoringTools)
#include "tst_monitoringtools.moc"
