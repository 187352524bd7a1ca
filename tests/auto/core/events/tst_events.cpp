// SPDX-License-Identifier: MIT
// Event delivery across real processes: the event-peer helper publishes and subscribes in
// processes of its own, while this test checks what each one printed.

#include "eventmanager.h"
#include "memoryeventhandler.h"
#include "runtimedir_p.h"
#include "sharedmemorypool.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QFile>
#include <QHash>
#include <QMutex>
#include <QProcess>
#include <QSet>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <atomic>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>
#include <unistd.h>

using namespace mvent;

namespace {

constexpr int ProcessTimeoutMs = 120000;
// A dead slot is reclaimed when another process attaches, or by the sweep that a
// SharedMemoryPool runs every fifth maintenance tick of one second.
constexpr int SlotReclaimTimeoutMs = 20000;

// One event-peer process and the lines it printed on standard output.
class Peer : public QObject
{
public:
    explicit Peer(const QStringList &arguments)
    {
        m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        connect(&m_process, &QProcess::readyReadStandardOutput, this, &Peer::readLines);
        m_process.start(QStringLiteral(MVENT_HELPER_EVENT_PEER), arguments);
    }

    ~Peer() override
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished();
        }
    }

    QProcess *process() { return &m_process; }

    bool isFinished() const { return m_process.state() == QProcess::NotRunning; }

    bool hasLine(const QString &line)
    {
        readLines();
        return m_lines.contains(line);
    }

    QStringList lines()
    {
        readLines();
        return m_lines;
    }

    // Returns the printed lines that start with "event ", without that prefix.
    QStringList events()
    {
        QStringList result;
        for (const QString &line : lines()) {
            if (line.startsWith(QLatin1String("event "))) {
                result.append(line.mid(6));
            }
        }
        return result;
    }

    void write(const QByteArray &line) { m_process.write(line + '\n'); }

private:
    void readLines()
    {
        while (m_process.canReadLine()) {
            m_lines.append(QString::fromUtf8(m_process.readLine()).trimmed());
        }
    }

    QProcess m_process;
    QStringList m_lines;
};

struct ParsedEvent
{
    quint64 sequence = 0;
    qint64 pid = 0;
    QString text;
};

// Parses "SEQUENCE PID TEXT" as Peer::events() returns it.
std::optional<ParsedEvent> parseEvent(const QString &line)
{
    const QStringList fields = line.split(QLatin1Char(' '));
    if (fields.size() != 3) {
        return std::nullopt;
    }
    bool sequenceOk = false;
    bool pidOk = false;
    ParsedEvent event{fields.at(0).toULongLong(&sequenceOk), fields.at(1).toLongLong(&pidOk),
                      fields.at(2)};
    if (!sequenceOk || !pidOk) {
        return std::nullopt;
    }
    return event;
}

// Returns user plus system CPU time of process pid in clock ticks, or -1 if unreadable.
qint64 cpuTicks(qint64 pid)
{
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly)) {
        return -1;
    }
    const QByteArray text = stat.readAll();
    // The command name in brackets may contain spaces, so count fields after its ')'.
    const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
    // The split list starts at field 3 (state) of proc(5), so utime (field 14) and stime
    // (field 15) are at indexes 11 and 12.
    if (fields.size() < 13) {
        return -1;
    }
    return fields.at(11).toLongLong() + fields.at(12).toLongLong();
}

QString describe(const EventManager &manager)
{
    return QStringLiteral("error %1: %2").arg(int(manager.error())).arg(manager.errorString());
}

} // namespace

class tst_Events : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();

    void publishersAndSubscribersAgreeOnOrder();
    void identicalValuesReachOwnProcess();
    void storedValuesStayIntact();
    void identicalValuesReachOtherProcess();
    void shortLivedPublisherIsReceived();
    void slotlessManagerOnlyPublishes();
    void ttlPublishSignalsValueChange();
    void publishRejectsInvalidTtl();
    void subscribeRejectsInvalidNames();
    void removedDoorbellSocketIsRecreated();
    void killedSubscriberIsReplaced();
    void ringOverrunReportsMissedEvents();
    void lateJoinerReadsLastValue();
    void idleSubscriberUsesNoCpu();
    void destroyedReceiverGetsNoEvents();
    void destroyedWorkerReceiverGetsNoEvents();
    void throwingHandlerIsCounted();
    void handlerDeletesItsHandler();
    void movedManagerDeliversOnItsThread();
    void publishFailsAfterPoolRemoved();
    void handlerCleansUpItsHandler();
    void cleanupWithQueuedContinuation();
    void cleanupSkipsLaterHandlers();
    void recordHandlerDeletesManager();
    void directHandlerCleansUpManager();
    void directDeliveryUsesNotifierThread();

private:
    QString createPool(const char *tag, qint64 size = 4 * 1024 * 1024, qint64 eventLogSize = 0);
    Peer *startPeer(const QStringList &arguments);
    void waitForReady(Peer *peer);
    void waitForSuccess(Peer *peer);

    std::unique_ptr<QTemporaryDir> m_runtimeDir;
    std::vector<std::unique_ptr<Peer>> m_peers;
    std::vector<std::unique_ptr<SharedMemoryPool>> m_pools;
    QStringList m_names;
    int m_counter = 0;
};

void tst_Events::initTestCase()
{
    if (qEnvironmentVariableIsEmpty("MVENT_RUNTIME_DIR")) {
        m_runtimeDir = std::make_unique<QTemporaryDir>();
        QVERIFY2(m_runtimeDir->isValid(), qPrintable(m_runtimeDir->errorString()));
        // QProcess passes the environment on, so every event-peer uses this directory too.
        qputenv("MVENT_RUNTIME_DIR", QFile::encodeName(m_runtimeDir->path()));
    }
}

void tst_Events::cleanup()
{
    m_peers.clear();
    m_pools.clear();
    for (const QString &name : std::as_const(m_names)) {
        SharedMemoryPool::removePool(name);
    }
    m_names.clear();
}

// Creates a pool with a unique name and keeps it open until cleanup(), so that every process
// attaches to it with these sizes.
QString tst_Events::createPool(const char *tag, qint64 size, qint64 eventLogSize)
{
    const QString name = QStringLiteral("tst-events-%1-%2-%3")
                                 .arg(QLatin1String(tag))
                                 .arg(QCoreApplication::applicationPid())
                                 .arg(++m_counter);
    m_names.append(name);

    SharedMemoryPool::Options options;
    options.openMode = SharedMemoryPool::CreateOnly;
    options.size = size;
    options.eventLogSize = eventLogSize;
    auto pool = std::make_unique<SharedMemoryPool>(name, options);
    if (!pool->isAttached()) {
        qWarning("creating pool %s failed: %s", qPrintable(name), qPrintable(pool->errorString()));
        return QString();
    }
    m_pools.push_back(std::move(pool));
    return name;
}

Peer *tst_Events::startPeer(const QStringList &arguments)
{
    m_peers.push_back(std::make_unique<Peer>(arguments));
    return m_peers.back().get();
}

void tst_Events::waitForReady(Peer *peer)
{
    QVERIFY2(peer->process()->waitForStarted(), qPrintable(peer->process()->errorString()));
    QTRY_VERIFY_WITH_TIMEOUT(peer->hasLine(QStringLiteral("ready")) || peer->isFinished(),
                             ProcessTimeoutMs);
    QVERIFY2(!peer->isFinished(), qPrintable(peer->lines().join(QLatin1Char('\n'))));
}

void tst_Events::waitForSuccess(Peer *peer)
{
    QTRY_VERIFY_WITH_TIMEOUT(peer->isFinished(), ProcessTimeoutMs);
    QCOMPARE(peer->process()->exitStatus(), QProcess::NormalExit);
    QCOMPARE(peer->process()->exitCode(), 0);
}

void tst_Events::publishersAndSubscribersAgreeOnOrder()
{
    constexpr int Publishers = 3;
    constexpr int Subscribers = 3;
    constexpr int EventsPerPublisher = 10000;
    constexpr int TotalEvents = Publishers * EventsPerPublisher;
    // The log is a quarter of the pool, 16 MiB, and has room for all 30,000 records of about
    // 64 bytes, so no subscriber can be overrun however slowly it reads.
    const QString pool = createPool("order", 64 * 1024 * 1024);
    QVERIFY(!pool.isEmpty());

    QList<Peer *> subscribers;
    for (int i = 0; i < Subscribers; ++i) {
        subscribers.append(startPeer({QStringLiteral("subscribe"), pool, QStringLiteral("tick"),
                                      QStringLiteral("--expect"), QString::number(TotalEvents)}));
    }
    for (Peer *subscriber : std::as_const(subscribers)) {
        waitForReady(subscriber);
    }

    QList<Peer *> publishers;
    for (int i = 0; i < Publishers; ++i) {
        publishers.append(startPeer({QStringLiteral("publish"), pool, QStringLiteral("tick"),
                                     QString::number(EventsPerPublisher), QStringLiteral("--tag"),
                                     QStringLiteral("p%1").arg(i), QStringLiteral("--wait")}));
    }
    QHash<QString, qint64> publisherPids;
    for (int i = 0; i < Publishers; ++i) {
        waitForReady(publishers.at(i));
        publisherPids.insert(QStringLiteral("p%1").arg(i), publishers.at(i)->process()->processId());
    }
    // All publishers are attached before any starts, so their events interleave in the log.
    for (Peer *publisher : std::as_const(publishers)) {
        publisher->write("go");
    }

    for (Peer *publisher : std::as_const(publishers)) {
        waitForSuccess(publisher);
        QVERIFY(publisher->hasLine(QStringLiteral("published %1").arg(EventsPerPublisher)));
    }
    for (Peer *subscriber : std::as_const(subscribers)) {
        waitForSuccess(subscriber);
        QVERIFY2(subscriber->hasLine(QStringLiteral("done %1 0").arg(TotalEvents)),
                 qPrintable(subscriber->lines().filter(QStringLiteral("done")).join(u',')));
    }

    const QStringList reference = subscribers.first()->events();
    QCOMPARE(reference.size(), TotalEvents);
    QHash<QString, int> nextIndex;
    QSet<QString> seen;
    quint64 previousSequence = 0;
    for (const QString &line : reference) {
        const std::optional<ParsedEvent> event = parseEvent(line);
        QVERIFY2(event, qPrintable(line));
        QVERIFY2(event->sequence > previousSequence || seen.isEmpty(), qPrintable(line));
        previousSequence = event->sequence;
        QVERIFY2(!seen.contains(event->text), qPrintable(QStringLiteral("duplicate ") + line));
        seen.insert(event->text);

        const QStringList tagAndIndex = event->text.split(QLatin1Char(':'));
        QCOMPARE(tagAndIndex.size(), 2);
        const QString tag = tagAndIndex.at(0);
        QVERIFY2(publisherPids.contains(tag), qPrintable(line));
        QCOMPARE(event->pid, publisherPids.value(tag));
        QCOMPARE(tagAndIndex.at(1).toInt(), nextIndex.value(tag));
        nextIndex[tag] = tagAndIndex.at(1).toInt() + 1;
    }
    for (const QString &tag : publisherPids.keys()) {
        QCOMPARE(nextIndex.value(tag), EventsPerPublisher);
    }

    for (int i = 1; i < Subscribers; ++i) {
        const QStringList events = subscribers.at(i)->events();
        QCOMPARE(events.size(), TotalEvents);
        for (int k = 0; k < TotalEvents; ++k) {
            QVERIFY2(events.at(k) == reference.at(k),
                     qPrintable(QStringLiteral("subscriber %1 differs at %2: '%3' instead of '%4'")
                                        .arg(i)
                                        .arg(k)
                                        .arg(events.at(k), reference.at(k))));
        }
    }
}

void tst_Events::identicalValuesReachOwnProcess()
{
    const QString pool = createPool("own");
    QVERIFY(!pool.isEmpty());
    MemoryEventHandler handler(pool);
    QVERIFY2(handler.isAttached(), qPrintable(handler.errorString()));

    QVariantList values;
    handler.on(QStringLiteral("same"), [&values](const QVariant &value) { values.append(value); });
    for (int i = 0; i < 5; ++i) {
        QVERIFY2(handler.publish(QStringLiteral("same"), 42), qPrintable(handler.errorString()));
    }

    QTRY_COMPARE(values.size(), 5);
    for (const QVariant &value : std::as_const(values)) {
        QCOMPARE(value.toInt(), 42);
    }
    QCOMPARE(handler.manager()->receivedCount(), 5u);
    QCOMPARE(handler.manager()->publishedCount(), 5u);
    QCOMPARE(handler.manager()->missedCount(), 0u);
}

void tst_Events::storedValuesStayIntact()
{
    // The reader reuses its value buffer when no reference shares the previous value. Values
    // a handler stores must not change when later records arrive. Unsubscribed names in
    // between and a subscription added midway exercise the name cache that filters records.
    const QString pool = createPool("kept");
    QVERIFY(!pool.isEmpty());
    MemoryEventHandler handler(pool);
    QVERIFY2(handler.isAttached(), qPrintable(handler.errorString()));

    QVariantList stored;
    QVariantList late;
    handler.on(QStringLiteral("kept"), [&stored](const QVariant &value) { stored.append(value); });
    constexpr int Count = 300;
    const auto valueFor = [](int i) {
        return QByteArray(1 + (i * 37) % 900, char('a' + i % 26)) + QByteArray::number(i);
    };
    for (int i = 0; i < Count; ++i) {
        QVERIFY2(handler.publish(QStringLiteral("kept"), valueFor(i)),
                 qPrintable(handler.errorString()));
        QVERIFY(handler.publish(QStringLiteral("ignored"), valueFor(i + 1)));
        if (i == Count / 2) {
            QTRY_COMPARE(stored.size(), i + 1);
            handler.on(QStringLiteral("late"), [&late](const QVariant &value) { late.append(value); });
        }
        if (i > Count / 2) {
            QVERIFY(handler.publish(QStringLiteral("late"), i));
        }
        if (i % 7 == 0) {
            QCoreApplication::processEvents();
        }
    }

    QTRY_COMPARE(stored.size(), Count);
    for (int i = 0; i < Count; ++i) {
        QCOMPARE(stored.at(i).toByteArray(), valueFor(i));
    }
    QTRY_COMPARE(late.size(), Count - Count / 2 - 1);
    QCOMPARE(late.first().toInt(), Count / 2 + 1);
    QCOMPARE(late.last().toInt(), Count - 1);
    QCOMPARE(handler.manager()->missedCount(), 0u);
}

void tst_Events::identicalValuesReachOtherProcess()
{
    const QString pool = createPool("same");
    QVERIFY(!pool.isEmpty());
    EventManager manager(pool);
    QVERIFY2(manager.isAttached(), qPrintable(describe(manager)));
    QSignalSpy received(&manager, &EventManager::eventReceived);
    QVERIFY(received.isValid());
    manager.subscribe(QStringLiteral("same"));

    Peer *publisher = startPeer({QStringLiteral("publish"), pool, QStringLiteral("same"),
                                 QStringLiteral("4"), QStringLiteral("--value"),
                                 QStringLiteral("unchanged")});
    waitForSuccess(publisher);

    QTRY_COMPARE(received.count(), 4);
    for (const QList<QVariant> &arguments : std::as_const(received)) {
        QCOMPARE(arguments.at(0).toString(), QStringLiteral("same"));
        QCOMPARE(arguments.at(1).toString(), QStringLiteral("unchanged"));
    }
    QCOMPARE(manager.missedCount(), 0u);
}

void tst_Events::removedDoorbellSocketIsRecreated()
{
    const QString pool = createPool("repair");
    QVERIFY(!pool.isEmpty());
    const QDir runtime(runtimeDirectoryPath());
    const QStringList pattern{QStringLiteral(".bell-%1-*").arg(QCoreApplication::applicationPid())};
    const QStringList before = runtime.entryList(pattern, QDir::System | QDir::Hidden);

    EventManager manager(pool);
    QVERIFY2(manager.isAttached(), qPrintable(describe(manager)));
    QSignalSpy received(&manager, &EventManager::eventReceived);
    QVERIFY(received.isValid());
    manager.subscribe(QStringLiteral("after"));
    QStringList added = runtime.entryList(pattern, QDir::System | QDir::Hidden);
    for (const QString &entry : before) {
        added.removeAll(entry);
    }
    QCOMPARE(added.size(), 1);
    const QString socketPath = runtime.filePath(added.first());
    QVERIFY(QFile::remove(socketPath));

    // The maintenance tick notices the missing file within a second or two.
    QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(socketPath), 20000);

    // A publisher that starts now has no eventfd yet and must reach the new socket.
    Peer *publisher = startPeer({QStringLiteral("publish"), pool, QStringLiteral("after"),
                                 QStringLiteral("3"), QStringLiteral("--value"),
                                 QStringLiteral("found")});
    waitForSuccess(publisher);
    QTRY_COMPARE(received.count(), 3);
    QCOMPARE(received.at(0).at(1).toString(), QStringLiteral("found"));
}

void tst_Events::ttlPublishSignalsValueChange()
{
    const QString pool = createPool("ttlchange");
    QVERIFY(!pool.isEmpty());
    SharedMemoryPool watcher(pool);
    QVERIFY2(watcher.isAttached(), qPrintable(watcher.errorString()));
    QSignalSpy changed(&watcher, &SharedMemoryPool::valueChanged);
    QVERIFY(changed.isValid());
    // Connecting queues the start of listening; let it run before anything is published.
    QCoreApplication::processEvents();

    // Another process publishes, so the change must travel through the log and a wake-up.
    Peer *publisher = startPeer({QStringLiteral("publish"), pool, QStringLiteral("status"),
                                 QStringLiteral("1"), QStringLiteral("--value"),
                                 QStringLiteral("online"), QStringLiteral("--ttl"),
                                 QStringLiteral("60000")});
    waitForSuccess(publisher);
    QTRY_COMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).toString(), QStringLiteral("status"));
    QCOMPARE(changed.at(0).at(1).toString(), QStringLiteral("online"));
}

void tst_Events::subscribeRejectsInvalidNames()
{
    const QString pool = createPool("badname");
    QVERIFY(!pool.isEmpty());
    EventManager manager(pool);
    QVERIFY2(manager.isAttached(), qPrintable(describe(manager)));

    manager.subscribe(QString(65536, QLatin1Char('n')));
    QCOMPARE(manager.error(), SharedMemoryPool::InvalidKey);
    QVERIFY2(manager.errorString().contains(QLatin1String("65536")), qPrintable(manager.errorString()));
    manager.subscribe(QStringLiteral("n") + QChar(0xd800));
    QCOMPARE(manager.error(), SharedMemoryPool::InvalidKey);
    manager.subscribe(QString());
    QCOMPARE(manager.error(), SharedMemoryPool::InvalidKey);
    QVERIFY(manager.subscriptions().isEmpty());

    // A cut preview never splits a multi-byte character.
    manager.subscribe(QString(1000, QChar(0x20ac)));
    QCOMPARE(manager.error(), SharedMemoryPool::InvalidKey);
    QVERIFY2(!manager.errorString().contains(QChar(0xfffd)), qPrintable(manager.errorString()));
}

void tst_Events::publishRejectsInvalidTtl()
{
    const QString pool = createPool("badttl");
    QVERIFY(!pool.isEmpty());
    EventManager manager(pool);
    QVERIFY2(manager.isAttached(), qPrintable(describe(manager)));

    QVERIFY(!manager.publish(QStringLiteral("e"), 1, -5));
    QCOMPARE(manager.error(), SharedMemoryPool::InvalidOptions);
    QVERIFY2(manager.errorString().contains(QLatin1String("-5")), qPrintable(manager.errorString()));

    QVERIFY(!manager.publish(QStringLiteral("e"), 1, std::numeric_limits<qint64>::max()));
    QCOMPARE(manager.error(), SharedMemoryPool::InvalidOptions);
    QVERIFY2(manager.errorString().contains(QLatin1String("maximum")),
             qPrintable(manager.errorString()));
    QCOMPARE(manager.lastValue(QStringLiteral("e")), QVariant());
    QCOMPARE(manager.publishedCount(), 0u);
}

void tst_Events::slotlessManagerOnlyPublishes()
{
    const QString pool = createPool("slotless");
    QVERIFY(!pool.isEmpty());
    EventManager receiver(pool);
    QVERIFY2(receiver.isAttached(), qPrintable(describe(receiver)));
    QSignalSpy received(&receiver, &EventManager::eventReceived);
    QVERIFY(received.isValid());
    receiver.subscribe(QStringLiteral("note"));

    EventManager::Options options;
    options.pool.useProcessSlot = false;
    EventManager publisher(pool, options);
    QVERIFY2(publisher.isAttached(), qPrintable(describe(publisher)));
    QVERIFY2(publisher.publish(QStringLiteral("note"), 7), qPrintable(describe(publisher)));
    QTRY_COMPARE(received.count(), 1);
    QCOMPARE(received.at(0).at(1).toInt(), 7);

    publisher.subscribe(QStringLiteral("note"));
    QCOMPARE(publisher.error(), SharedMemoryPool::InvalidOptions);
    QVERIFY2(publisher.errorString().contains(QLatin1String("useProcessSlot")),
             qPrintable(publisher.errorString()));
    publisher.subscribeAll();
    QCOMPARE(publisher.error(), SharedMemoryPool::InvalidOptions);
    // Publishing still works after the failed subscriptions.
    QVERIFY(publisher.publish(QStringLiteral("note"), 8));
    QTRY_COMPARE(received.count(), 2);
}

void tst_Events::shortLivedPublisherIsReceived()
{
    const QString pool = createPool("short");
    QVERIFY(!pool.isEmpty());
    EventManager manager(pool);
    QVERIFY2(manager.isAttached(), qPrintable(describe(manager)));
    QSignalSpy received(&manager, &EventManager::eventReceived);
    QVERIFY(received.isValid());
    manager.subscribe(QStringLiteral("once"));

    // waitForFinished() keeps this event loop from running, so the event is read only after
    // its publisher has exited.
    Peer *publisher = startPeer({QStringLiteral("publish"), pool, QStringLiteral("once"),
                                 QStringLiteral("1"), QStringLiteral("--value"),
                                 QStringLiteral("goodbye")});
    QVERIFY(publisher->process()->waitForFinished(ProcessTimeoutMs));
    QCOMPARE(publisher->process()->exitCode(), 0);

    QTRY_COMPARE(received.count(), 1);
    QCOMPARE(received.at(0).at(1).toString(), QStringLiteral("goodbye"));
    QVERIFY(!received.wait(200));
    QCOMPARE(received.count(), 1);
}

void tst_Events::killedSubscriberIsReplaced()
{
    const QString pool = createPool("killed");
    QVERIFY(!pool.isEmpty());
    SharedMemoryPool *observer = m_pools.back().get();
    const qint64 baseline = observer->stats().attachedProcesses;

    Peer *first = startPeer({QStringLiteral("subscribe"), pool, QStringLiteral("beat")});
    waitForReady(first);
    QCOMPARE(observer->stats().attachedProcesses, baseline + 1);
    first->process()->kill(); // SIGKILL: the slot stays claimed and its doorbell is gone
    QVERIFY(first->process()->waitForFinished(ProcessTimeoutMs));

    // Ten thousand wake-ups aimed at the dead subscriber must not block the publisher.
    Peer *before = startPeer({QStringLiteral("publish"), pool, QStringLiteral("beat"),
                              QStringLiteral("10000"), QStringLiteral("--tag"),
                              QStringLiteral("before")});
    waitForSuccess(before);
    QTRY_COMPARE_WITH_TIMEOUT(observer->stats().attachedProcesses, baseline, SlotReclaimTimeoutMs);

    Peer *second = startPeer({QStringLiteral("subscribe"), pool, QStringLiteral("beat"),
                              QStringLiteral("--expect"), QStringLiteral("50")});
    waitForReady(second);
    QCOMPARE(observer->stats().attachedProcesses, baseline + 1);
    Peer *after = startPeer({QStringLiteral("publish"), pool, QStringLiteral("beat"),
                             QStringLiteral("50"), QStringLiteral("--tag"),
                             QStringLiteral("after")});
    waitForSuccess(after);
    waitForSuccess(second);

    QVERIFY(second->hasLine(QStringLiteral("done 50 0")));
    const QStringList events = second->events();
    QCOMPARE(events.size(), 50);
    for (int i = 0; i < events.size(); ++i) {
        const std::optional<ParsedEvent> event = parseEvent(events.at(i));
        QVERIFY2(event, qPrintable(events.at(i)));
        QCOMPARE(event->text, QStringLiteral("after:%1").arg(i));
    }
}

void tst_Events::ringOverrunReportsMissedEvents()
{
    constexpr int Published = 1000;
    // Each record is a 40-byte header, the name and the payload, so the 16 KiB log has room
    // for about 64 of them and the held subscriber must lose most of the 1000.
    constexpr int PayloadBytes = 200;
    const QString pool = createPool("overrun", 1024 * 1024, 16 * 1024);
    QVERIFY(!pool.isEmpty());

    Peer *subscriber = startPeer({QStringLiteral("subscribe"), pool, QStringLiteral("bulk"),
                                  QStringLiteral("--expect"), QString::number(Published),
                                  QStringLiteral("--hold")});
    waitForReady(subscriber);
    Peer *publisher = startPeer({QStringLiteral("publish"), pool, QStringLiteral("bulk"),
                                 QString::number(Published), QStringLiteral("--tag"),
                                 QStringLiteral("ov"), QStringLiteral("--payload-bytes"),
                                 QString::number(PayloadBytes)});
    waitForSuccess(publisher);
    subscriber->write("read");
    waitForSuccess(subscriber);

    const QStringList events = subscriber->events();
    quint64 missed = 0;
    for (const QString &line : subscriber->lines()) {
        if (line.startsWith(QLatin1String("missed "))) {
            missed += line.mid(7).toULongLong();
        }
    }
    const int received = int(events.size());
    QVERIFY2(received > 0, "the held subscriber read no event at all");
    QVERIFY2(missed > 0, "the 16 KiB log held all events, so nothing was overrun");
    QCOMPARE(missed, quint64(Published - received));
    QVERIFY(subscriber->hasLine(QStringLiteral("done %1 %2").arg(received).arg(missed)));

    // The writer reclaims the oldest records, so what is left is the newest, contiguous tail.
    for (int i = 0; i < received; ++i) {
        const std::optional<ParsedEvent> event = parseEvent(events.at(i));
        QVERIFY2(event, qPrintable(events.at(i)));
        QCOMPARE(event->text, QStringLiteral("ov:%1").arg(Published - received + i));
    }
}

void tst_Events::lateJoinerReadsLastValue()
{
    // NOTE: the reader below must start within the TTL, 3 s of wall-clock time.
    constexpr int TtlMs = 3000;
    const QString pool = createPool("late");
    QVERIFY(!pool.isEmpty());

    Peer *publisher = startPeer({QStringLiteral("publish"), pool, QStringLiteral("status"),
                                 QStringLiteral("1"), QStringLiteral("--value"),
                                 QStringLiteral("online"), QStringLiteral("--ttl"),
                                 QString::number(TtlMs)});
    waitForSuccess(publisher);
    Peer *reader = startPeer({QStringLiteral("last-value"), pool, QStringLiteral("status")});
    waitForSuccess(reader);
    QCOMPARE(reader->lines(), QStringList{QStringLiteral("value online")});

    EventManager manager(pool);
    QVERIFY2(manager.isAttached(), qPrintable(describe(manager)));
    QTRY_COMPARE_WITH_TIMEOUT(manager.lastValue(QStringLiteral("status"), QStringLiteral("gone")),
                              QVariant(QStringLiteral("gone")), TtlMs * 5);
    Peer *lateReader = startPeer({QStringLiteral("last-value"), pool, QStringLiteral("status")});
    waitForSuccess(lateReader);
    QCOMPARE(lateReader->lines(), QStringList{QStringLiteral("none")});
}

void tst_Events::idleSubscriberUsesNoCpu()
{
    // The idle period is the quantity under test, so this test waits instead of polling.
    constexpr int IdleMs = 2000;
    // The 1 Hz maintenance thread wakes twice in this period. Each wake-up costs
    // far less than one tick, so the bound leaves room for tick accounting granularity.
    constexpr qint64 MaxIdleTicks = 5;
    const QString pool = createPool("idle");
    QVERIFY(!pool.isEmpty());

    Peer *subscriber = startPeer({QStringLiteral("subscribe"), pool, QStringLiteral("quiet")});
    waitForReady(subscriber);
    const qint64 pid = subscriber->process()->processId();

    const qint64 before = cpuTicks(pid);
    QVERIFY2(before >= 0, "cannot read /proc/PID/stat of the subscriber");
    QTest::qWait(IdleMs);
    const qint64 after = cpuTicks(pid);
    QVERIFY2(after >= 0, "cannot read /proc/PID/stat of the subscriber");
    QVERIFY(!subscriber->isFinished());
    QVERIFY2(after - before <= MaxIdleTicks,
             qPrintable(QStringLiteral("idle subscriber used %1 clock ticks in %2 ms (%3 ticks/s)")
                                .arg(after - before)
                                .arg(IdleMs)
                                .arg(sysconf(_SC_CLK_TCK))));
}

void tst_Events::destroyedReceiverGetsNoEvents()
{
    constexpr int Published = 10000;
    const QString pool = createPool("receiver");
    QVERIFY(!pool.isEmpty());
    MemoryEventHandler handler(pool);
    QVERIFY2(handler.isAttached(), qPrintable(handler.errorString()));

    // Receiver A deletes itself in its own handler at event 100. Receiver B is deleted by
    // another handler at event 200.
    int callsA = 0;
    int callsAfterDeletionA = 0;
    bool deletedA = false;
    QObject *receiverA = new QObject;
    handler.on(QStringLiteral("tick"), receiverA, [&](const QVariant &) {
        callsAfterDeletionA += deletedA ? 1 : 0;
        if (++callsA == 100) {
            deletedA = true;
            delete receiverA;
        }
    });
    int callsB = 0;
    int callsAfterDeletionB = 0;
    bool deletedB = false;
    QObject *receiverB = new QObject;
    handler.on(QStringLiteral("tick"), receiverB, [&](const QVariant &) {
        callsAfterDeletionB += deletedB ? 1 : 0;
        ++callsB;
    });
    int total = 0;
    handler.on(QStringLiteral("tick"), [&](const QVariant &) {
        if (++total == 200) {
            deletedB = true;
            delete receiverB;
        }
    });

    Peer *publisher = startPeer({QStringLiteral("publish"), pool, QStringLiteral("tick"),
                                 QString::number(Published)});
    waitForSuccess(publisher);
    QTRY_COMPARE_WITH_TIMEOUT(total, Published, ProcessTimeoutMs);

    QCOMPARE(callsA, 100);
    QCOMPARE(callsAfterDeletionA, 0);
    QCOMPARE(callsB, 200);
    QCOMPARE(callsAfterDeletionB, 0);
    QCOMPARE(handler.handlerErrorCount(), 0u);
    QCOMPARE(handler.manager()->missedCount(), 0u);
}

void tst_Events::destroyedWorkerReceiverGetsNoEvents()
{
    constexpr int Published = 10000;
    const QString pool = createPool("worker");
    QVERIFY(!pool.isEmpty());
    MemoryEventHandler handler(pool);
    QVERIFY2(handler.isAttached(), qPrintable(handler.errorString()));

    // The receiver lives in a worker thread, and deleteLater() deletes it there at event 300
    // while calls for later events are already queued or being posted.
    std::atomic<int> calls = 0;
    std::atomic<int> callsAfterDeletion = 0;
    std::atomic<bool> deleted = false;
    QThread worker;
    worker.start();
    QObject *receiver = new QObject;
    receiver->moveToThread(&worker);
    connect(receiver, &QObject::destroyed, this, [&deleted] { deleted = true; },
            Qt::DirectConnection);
    handler.on(QStringLiteral("tick"), receiver, [&](const QVariant &) {
        if (deleted) {
            ++callsAfterDeletion;
        }
        ++calls;
    });
    int total = 0;
    handler.on(QStringLiteral("tick"), [&](const QVariant &) {
        if (++total == 300) {
            receiver->deleteLater();
        }
    });

    Peer *publisher = startPeer({QStringLiteral("publish"), pool, QStringLiteral("tick"),
                                 QString::number(Published)});
    waitForSuccess(publisher);
    QTRY_COMPARE_WITH_TIMEOUT(total, Published, ProcessTimeoutMs);
    QTRY_VERIFY(deleted.load());
    worker.quit();
    QVERIFY(worker.wait());

    // The call for event 300 is posted before deleteLater(), so it runs; later ones are
    // discarded with the receiver.
    QCOMPARE(calls.load(), 300);
    QCOMPARE(callsAfterDeletion.load(), 0);
    QCOMPARE(handler.handlerErrorCount(), 0u);
}

void tst_Events::publishFailsAfterPoolRemoved()
{
    const QString pool = createPool("removed");
    QVERIFY(!pool.isEmpty());
    EventManager manager(pool);
    QVERIFY2(manager.isAttached(), qPrintable(describe(manager)));
    QSignalSpy destroyed(&manager, &EventManager::poolDestroyed);
    QVERIFY(destroyed.isValid());

    // Worker threads publish while the pool goes away and the manager's thread handles it.
    constexpr int Workers = 3;
    std::atomic<bool> stop = false;
    std::atomic<int> failedWithDestroyed = 0;
    std::vector<std::thread> workers;
    for (int w = 0; w < Workers; ++w) {
        workers.emplace_back([&] {
            while (!stop.load()) {
                if (!manager.publish(QStringLiteral("tick"), 1)
                    && manager.error() == SharedMemoryPool::PoolDestroyed) {
                    ++failedWithDestroyed;
                    return;
                }
            }
        });
    }
    QTest::qWait(50);
    QVERIFY(SharedMemoryPool::removePool(pool));
    // Without an event loop turn, publishing already fails.
    QVERIFY(!manager.publish(QStringLiteral("tick"), 2));
    QCOMPARE(manager.error(), SharedMemoryPool::PoolDestroyed);
    QTRY_COMPARE(destroyed.count(), 1);
    QVERIFY(!manager.isAttached());
    QTRY_COMPARE(failedWithDestroyed.load(), Workers);
    stop = true;
    for (std::thread &worker : workers) {
        worker.join();
    }
    QTest::qWait(50);
    QCOMPARE(destroyed.count(), 1);
}

void tst_Events::movedManagerDeliversOnItsThread()
{
    // Listening starts on this thread; after moveToThread() every event must arrive once, on
    // the new thread.
    const QString pool = createPool("moved");
    QVERIFY(!pool.isEmpty());
    auto *manager = new EventManager(pool);
    QVERIFY2(manager->isAttached(), qPrintable(describe(*manager)));
    manager->subscribe(QStringLiteral("hop"));
    QCoreApplication::processEvents();

    QThread worker;
    worker.start();
    QMutex mutex;
    QList<int> values;
    bool wrongThread = false;
    QObject::connect(manager, &EventManager::eventReceived, manager,
                     [&](const QString &, const QVariant &value) {
                         QMutexLocker locker(&mutex);
                         wrongThread = wrongThread || QThread::currentThread() != &worker;
                         values.append(value.toInt());
                     });
    manager->moveToThread(&worker);

    EventManager publisher(pool);
    constexpr int Count = 200;
    for (int i = 0; i < Count; ++i) {
        QVERIFY(publisher.publish(QStringLiteral("hop"), i));
    }
    QTRY_COMPARE_WITH_TIMEOUT([&] { QMutexLocker locker(&mutex); return values.size(); }(),
                              Count, 20000);
    QTest::qWait(100);
    {
        QMutexLocker locker(&mutex);
        QCOMPARE(values.size(), Count);
        for (int i = 0; i < Count; ++i) {
            QCOMPARE(values.at(i), i);
        }
        QVERIFY(!wrongThread);
    }
    QMetaObject::invokeMethod(manager, [manager] { delete manager; }, Qt::BlockingQueuedConnection);
    worker.quit();
    QVERIFY(worker.wait());
}

void tst_Events::handlerDeletesItsHandler()
{
    const QString pool = createPool("selfdelete");
    QVERIFY(!pool.isEmpty());
    auto *handler = new MemoryEventHandler(pool);
    QVERIFY2(handler->isAttached(), qPrintable(handler->errorString()));
    int calls = 0;
    int laterCalls = 0;
    handler->on(QStringLiteral("last"), [&](const QVariant &) {
        ++calls;
        delete handler;
        handler = nullptr;
    });
    // Registered after the deleting one, so dispatch must stop before reaching it.
    handler->on(QStringLiteral("last"), [&](const QVariant &) { ++laterCalls; });

    EventManager publisher(pool);
    QVERIFY2(publisher.isAttached(), qPrintable(describe(publisher)));
    for (int i = 0; i < 3; ++i) {
        QVERIFY(publisher.publish(QStringLiteral("last"), i));
    }
    QTRY_VERIFY(handler == nullptr);
    QTest::qWait(50); // lets the deferred deletions run
    QCOMPARE(calls, 1);
    QCOMPARE(laterCalls, 0);
}

void tst_Events::handlerCleansUpItsHandler()
{
    const QString pool = createPool("selfcleanup");
    QVERIFY(!pool.isEmpty());
    MemoryEventHandler handler(pool);
    QVERIFY2(handler.isAttached(), qPrintable(handler.errorString()));
    int calls = 0;
    handler.on(QStringLiteral("stop"), [&](const QVariant &) {
        ++calls;
        handler.cleanup();
    });
    for (int i = 0; i < 3; ++i) {
        QVERIFY(handler.publish(QStringLiteral("stop"), i));
    }
    QTRY_COMPARE(calls, 1);
    QTest::qWait(50);
    QCOMPARE(calls, 1);
    QVERIFY(!handler.isAttached());
}

void tst_Events::cleanupWithQueuedContinuation()
{
    // A delivery turn of 4096 records queues a continuation. If another turn, queued by the
    // maintenance tick while the first handler call blocks, ends the attachment first, the
    // continuation must not run on the freed notifier.
    const QString pool = createPool("continuation", 64 * 1024 * 1024, 32 * 1024 * 1024);
    QVERIFY(!pool.isEmpty());
    EventManager manager(pool);
    QVERIFY2(manager.isAttached(), qPrintable(describe(manager)));
    EventManager publisher(pool);
    int calls = 0;
    manager.setRecordHandler([&](const QString &, const QVariant &, const EventManager::EventInfo &) {
        ++calls;
        if (calls == 1) {
            std::thread flood([&] {
                for (int i = 0; i < 12000; ++i) {
                    publisher.publish(QStringLiteral("flood"), i);
                }
            });
            QThread::msleep(1500); // lets a maintenance tick see the moved log head
            flood.join();
        } else if (calls == 5000) {
            manager.cleanup();
        }
    });
    manager.subscribe(QStringLiteral("flood"));
    QVERIFY(publisher.publish(QStringLiteral("flood"), -1));
    QTRY_VERIFY_WITH_TIMEOUT(calls >= 5000, 60000);
    QTest::qWait(200); // lets queued calls and deferred deletions run
    QCOMPARE(calls, 5000);
    QVERIFY(!manager.isAttached());
}

void tst_Events::cleanupSkipsLaterHandlers()
{
    const QString pool = createPool("skiplater");
    QVERIFY(!pool.isEmpty());
    MemoryEventHandler handler(pool);
    QVERIFY2(handler.isAttached(), qPrintable(handler.errorString()));
    int first = 0;
    int second = 0;
    handler.on(QStringLiteral("once"), [&](const QVariant &) {
        ++first;
        handler.cleanup();
    });
    handler.on(QStringLiteral("once"), [&](const QVariant &) { ++second; });
    QVERIFY(handler.publish(QStringLiteral("once"), 1));
    QTRY_COMPARE(first, 1);
    QTest::qWait(50);
    QCOMPARE(second, 0);
}

void tst_Events::recordHandlerDeletesManager()
{
    const QString pool = createPool("managerdelete");
    QVERIFY(!pool.isEmpty());
    auto *manager = new EventManager(pool);
    QVERIFY2(manager->isAttached(), qPrintable(describe(*manager)));
    int calls = 0;
    manager->setRecordHandler([&](const QString &, const QVariant &, const EventManager::EventInfo &) {
        ++calls;
        delete manager;
        manager = nullptr;
    });
    manager->subscribe(QStringLiteral("gone"));
    EventManager publisher(pool);
    for (int i = 0; i < 3; ++i) {
        QVERIFY(publisher.publish(QStringLiteral("gone"), i));
    }
    QTRY_VERIFY(manager == nullptr);
    QTest::qWait(50);
    QCOMPARE(calls, 1);
}

void tst_Events::directHandlerCleansUpManager()
{
    // With direct delivery the handler runs on the notifier thread, which must not join
    // itself when the handler ends the attachment.
    const QString pool = createPool("directcleanup");
    QVERIFY(!pool.isEmpty());
    EventManager::Options options;
    options.delivery = EventManager::DirectDelivery;
    EventManager manager(pool, options);
    QVERIFY2(manager.isAttached(), qPrintable(describe(manager)));
    std::atomic<int> calls = 0;
    manager.setRecordHandler([&](const QString &, const QVariant &, const EventManager::EventInfo &) {
        if (calls.fetch_add(1) == 0) {
            manager.cleanup();
        }
    });
    manager.subscribe(QStringLiteral("halt"));
    EventManager publisher(pool);
    for (int i = 0; i < 3; ++i) {
        QVERIFY(publisher.publish(QStringLiteral("halt"), i));
    }
    QTRY_COMPARE(calls.load(), 1);
    QTest::qWait(50);
    QCOMPARE(calls.load(), 1);
    QTRY_VERIFY(!manager.isAttached());
}

void tst_Events::throwingHandlerIsCounted()
{
    const QString pool = createPool("throw");
    QVERIFY(!pool.isEmpty());
    MemoryEventHandler handler(pool);
    QVERIFY2(handler.isAttached(), qPrintable(handler.errorString()));
    QSignalSpy failed(&handler, &MemoryEventHandler::handlerFailed);
    QVERIFY(failed.isValid());

    // The throwing handler is registered first, so the second one runs after it has thrown.
    handler.on(QStringLiteral("boom"), [](const QVariant &value) {
        throw std::runtime_error("bad value " + value.toString().toStdString());
    });
    QVariantList survived;
    handler.on(QStringLiteral("boom"), [&](const QVariant &value) { survived.append(value); });
    int calm = 0;
    handler.on(QStringLiteral("calm"), [&](const QVariant &) { ++calm; });

    for (int i = 0; i < 3; ++i) {
        QTest::ignoreMessage(QtWarningMsg, qPrintable(QStringLiteral("handler of event boom threw: "
                                                                     "bad value %1").arg(i)));
        QVERIFY2(handler.publish(QStringLiteral("boom"), i), qPrintable(handler.errorString()));
    }
    QVERIFY2(handler.publish(QStringLiteral("calm"), 0), qPrintable(handler.errorString()));

    QTRY_COMPARE(calm, 1);
    QCOMPARE(survived, (QVariantList{0, 1, 2}));
    QCOMPARE(handler.handlerErrorCount(), 3u);
    QCOMPARE(failed.count(), 3);
    for (int i = 0; i < 3; ++i) {
        QCOMPARE(failed.at(i).at(0).toString(), QStringLiteral("boom"));
        QCOMPARE(failed.at(i).at(1).toString(), QStringLiteral("bad value %1").arg(i));
    }
}

void tst_Events::directDeliveryUsesNotifierThread()
{
    constexpr int Published = 10000;
    const QString pool = createPool("direct");
    QVERIFY(!pool.isEmpty());

    EventManager::Options options;
    options.delivery = EventManager::DirectDelivery;
    EventManager manager(pool, options);
    QVERIFY2(manager.isAttached(), qPrintable(describe(manager)));

    QMutex mutex;
    QStringList values;
    QSet<QThread *> handlerThreads;
    QSet<QThread *> signalThreads;
    std::atomic<int> received = 0;
    manager.setRecordHandler([&](const QString &, const QVariant &value,
                                 const EventManager::EventInfo &) {
        QMutexLocker locker(&mutex);
        values.append(value.toString());
        handlerThreads.insert(QThread::currentThread());
    });
    connect(&manager, &EventManager::eventReceived, this, [&] {
        {
            QMutexLocker locker(&mutex);
            signalThreads.insert(QThread::currentThread());
        }
        ++received;
    }, Qt::DirectConnection);
    manager.subscribe(QStringLiteral("direct"));

    Peer *publisher = startPeer({QStringLiteral("publish"), pool, QStringLiteral("direct"),
                                 QString::number(Published), QStringLiteral("--tag"),
                                 QStringLiteral("d")});
    waitForSuccess(publisher);
    QTRY_COMPARE_WITH_TIMEOUT(received.load(), Published, ProcessTimeoutMs);

    QMutexLocker locker(&mutex);
    QCOMPARE(values.size(), Published);
    for (int i = 0; i < Published; ++i) {
        QCOMPARE(values.at(i), QStringLiteral("d:%1").arg(i));
    }
    QCOMPARE(handlerThreads.size(), 1);
    QVERIFY(!handlerThreads.contains(QThread::currentThread()));
    QCOMPARE(signalThreads, handlerThreads);
    QCOMPARE(manager.receivedCount(), quint64(Published));
    QCOMPARE(manager.missedCount(), 0u);
}

QTEST_GUILESS_MAIN(tst_Events)
#include "tst_events.moc"
