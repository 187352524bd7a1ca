// SPDX-License-Identifier: MIT
// The emit and watch commands of the mvent tool, run as real processes.

#include <eventmanager.h>
#include <sharedmemorypool.h>

#include <QCoreApplication>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <memory>
#include <vector>

using mvent::EventManager;
using mvent::PoolStats;
using mvent::SharedMemoryPool;

namespace {

constexpr int ProcessTimeoutMs = 60000;

// Outcome of one finished run of the mvent tool.
struct Result
{
    int exitCode = -1; // -1 when the process crashed or did not finish
    qint64 pid = 0;
    QByteArray output;
    QByteArray errorOutput;
};

Result runMvent(const QStringList &arguments, const QByteArray &input = QByteArray())
{
    QProcess process;
    process.start(QStringLiteral(MVENT_HELPER_MVENT), arguments);
    Result result;
    if (!process.waitForStarted()) {
        result.errorOutput = process.errorString().toUtf8();
        return result;
    }
    result.pid = process.processId();
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

// Returns the JSON objects of the lines that watch printed, or an empty list if one line is
// not a JSON object.
QList<QJsonObject> parseLines(const QByteArray &output)
{
    QList<QJsonObject> objects;
    const QList<QByteArray> lines = output.split('\n');
    for (const QByteArray &line : lines) {
        if (line.isEmpty()) {
            continue;
        }
        QJsonParseError error;
        const QJsonDocument document = QJsonDocument::fromJson(line, &error);
        if (error.error != QJsonParseError::NoError || !document.isObject()) {
            qWarning("watch printed a line that is not a JSON object: %s", line.constData());
            return {};
        }
        objects.append(document.object());
    }
    return objects;
}

} // namespace

class tst_MventEvents : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();

    void watchPrintsEmittedEvents();
    void watchFiltersEventNames();
    void watchPrintsLibraryEvents();
    void watchStopsOnSignal_data();
    void watchStopsOnSignal();
    void watchInvalidCountIsUsageError();
    void emitReadsStandardInput();
    void emitWithTtlStoresLastValue();
    void emitInvalidJsonFails();
    void emitInvalidObjectHintsAtKeys();
    void emitWorksOnFullPool();
    void emitRejectsOutOfRangeInteger();
    void watchReportsCreatedPool();
    void emitReportsCreatedPool();
    void watchReportsMissedEvents();

private:
    SharedMemoryPool *createPool(int maxAttachments = 64);
    QProcess *startWatch(const QStringList &arguments);

    std::unique_ptr<QTemporaryDir> m_runtimeDir;
    std::vector<std::unique_ptr<QProcess>> m_watchers;
    std::vector<std::unique_ptr<SharedMemoryPool>> m_pools;
    QStringList m_names;
    int m_counter = 0;
};

void tst_MventEvents::initTestCase()
{
    if (qEnvironmentVariableIsEmpty("MVENT_RUNTIME_DIR")) {
        m_runtimeDir = std::make_unique<QTemporaryDir>();
        QVERIFY2(m_runtimeDir->isValid(), qPrintable(m_runtimeDir->errorString()));
        // QProcess passes the environment on, so the mvent processes use this directory too.
        qputenv("MVENT_RUNTIME_DIR", QFile::encodeName(m_runtimeDir->path()));
    }
}

void tst_MventEvents::cleanup()
{
    for (const std::unique_ptr<QProcess> &watcher : m_watchers) {
        if (watcher->state() != QProcess::NotRunning) {
            watcher->kill();
            watcher->waitForFinished();
        }
    }
    m_watchers.clear();
    m_pools.clear();
    for (const QString &name : std::as_const(m_names)) {
        SharedMemoryPool::removePool(name);
    }
    m_names.clear();
}

// Creates a pool with a unique name and \a maxAttachments slots that stays open until
// cleanup().
SharedMemoryPool *tst_MventEvents::createPool(int maxAttachments)
{
    const QString name = QStringLiteral("tst-mventevents-%1-%2")
                                 .arg(QCoreApplication::applicationPid())
                                 .arg(++m_counter);
    m_names.append(name);
    SharedMemoryPool::Options options;
    options.openMode = SharedMemoryPool::CreateOnly;
    options.size = 1024 * 1024;
    options.maxAttachments = maxAttachments;
    m_pools.push_back(std::make_unique<SharedMemoryPool>(name, options));
    return m_pools.back().get();
}

// Starts "mvent watch" with arguments. The caller waits until the watcher is attached, by
// comparing the pool's attachedProcesses with its value before the start.
QProcess *tst_MventEvents::startWatch(const QStringList &arguments)
{
    auto watcher = std::make_unique<QProcess>();
    watcher->start(QStringLiteral(MVENT_HELPER_MVENT), QStringList{QStringLiteral("watch")}
                                                               + arguments);
    m_watchers.push_back(std::move(watcher));
    return m_watchers.back().get();
}

void tst_MventEvents::watchPrintsEmittedEvents()
{
    SharedMemoryPool *pool = createPool();
    QVERIFY2(pool->isAttached(), qPrintable(pool->errorString()));
    const qint64 baseline = pool->stats().attachedProcesses;

    QProcess *watcher = startWatch({pool->name(), QStringLiteral("--count"), QStringLiteral("3")});
    QVERIFY(watcher->waitForStarted());
    // NOTE: the watcher counts as attached a few instructions before its cursor is set, a
    // window far shorter than the start of the emit process below.
    QTRY_COMPARE(pool->stats().attachedProcesses, baseline + 1);

    const Result first = runMvent({QStringLiteral("emit"), pool->name(), QStringLiteral("reading"),
                                   QStringLiteral("{\"celsius\":21.5,\"tags\":[\"a\",\"b\"]}")});
    QCOMPARE(first.exitCode, 0);
    const Result second = runMvent({QStringLiteral("emit"), pool->name(), QStringLiteral("label"),
                                    QStringLiteral("\"door open\"")});
    QCOMPARE(second.exitCode, 0);
    const Result third = runMvent({QStringLiteral("emit"), pool->name(), QStringLiteral("reading"),
                                   QStringLiteral("--"), QStringLiteral("-7")});
    QCOMPARE(third.exitCode, 0);

    QVERIFY(watcher->waitForFinished(ProcessTimeoutMs));
    QCOMPARE(watcher->exitStatus(), QProcess::NormalExit);
    QCOMPARE(watcher->exitCode(), 0);
    // The pool existed, so watch has nothing to report on standard error.
    QCOMPARE(watcher->readAllStandardError(), QByteArray());
    const QList<QJsonObject> lines = parseLines(watcher->readAllStandardOutput());
    QCOMPARE(lines.size(), 3);

    QCOMPARE(lines.at(0).value(QLatin1String("event")).toString(), QStringLiteral("reading"));
    const QJsonObject reading = lines.at(0).value(QLatin1String("value")).toObject();
    QCOMPARE(reading.value(QLatin1String("celsius")).toDouble(), 21.5);
    QCOMPARE(reading.value(QLatin1String("tags")).toArray().size(), 2);
    QCOMPARE(lines.at(1).value(QLatin1String("event")).toString(), QStringLiteral("label"));
    QCOMPARE(lines.at(1).value(QLatin1String("value")).toString(), QStringLiteral("door open"));
    QCOMPARE(lines.at(2).value(QLatin1String("event")).toString(), QStringLiteral("reading"));
    QCOMPARE(lines.at(2).value(QLatin1String("value")).toInteger(), -7);

    const QList<qint64> pids{first.pid, second.pid, third.pid};
    for (int i = 0; i < 3; ++i) {
        QCOMPARE(lines.at(i).value(QLatin1String("pid")).toInteger(), pids.at(i));
    }
    QVERIFY(lines.at(1).value(QLatin1String("seq")).toInteger()
            > lines.at(0).value(QLatin1String("seq")).toInteger());
    QVERIFY(lines.at(2).value(QLatin1String("seq")).toInteger()
            > lines.at(1).value(QLatin1String("seq")).toInteger());
    QTRY_COMPARE(pool->stats().attachedProcesses, baseline);
}

void tst_MventEvents::watchFiltersEventNames()
{
    SharedMemoryPool *pool = createPool();
    QVERIFY2(pool->isAttached(), qPrintable(pool->errorString()));
    const qint64 baseline = pool->stats().attachedProcesses;

    QProcess *watcher = startWatch({pool->name(), QStringLiteral("alpha"), QStringLiteral("gamma"),
                                    QStringLiteral("--count"), QStringLiteral("2")});
    QVERIFY(watcher->waitForStarted());
    QTRY_COMPARE(pool->stats().attachedProcesses, baseline + 1);

    const QStringList names{QStringLiteral("alpha"), QStringLiteral("beta"),
                            QStringLiteral("gamma")};
    for (const QString &name : names) {
        const Result emitted = runMvent({QStringLiteral("emit"), pool->name(), name,
                                         QStringLiteral("1")});
        QCOMPARE(emitted.exitCode, 0);
    }

    QVERIFY(watcher->waitForFinished(ProcessTimeoutMs));
    QCOMPARE(watcher->exitCode(), 0);
    const QList<QJsonObject> lines = parseLines(watcher->readAllStandardOutput());
    QCOMPARE(lines.size(), 2);
    QCOMPARE(lines.at(0).value(QLatin1String("event")).toString(), QStringLiteral("alpha"));
    QCOMPARE(lines.at(1).value(QLatin1String("event")).toString(), QStringLiteral("gamma"));
}

void tst_MventEvents::watchPrintsLibraryEvents()
{
    SharedMemoryPool *pool = createPool();
    QVERIFY2(pool->isAttached(), qPrintable(pool->errorString()));
    const qint64 baseline = pool->stats().attachedProcesses;
    EventManager publisher(pool->name());
    QVERIFY2(publisher.isAttached(), qPrintable(publisher.errorString()));

    QProcess *watcher = startWatch({pool->name(), QStringLiteral("--count"), QStringLiteral("3")});
    QVERIFY(watcher->waitForStarted());
    QTRY_COMPARE(pool->stats().attachedProcesses, baseline + 2);

    // Identical consecutive values are three events, and bytes are printed as base64url.
    const QByteArray bytes("\xfb\xff\x01", 3);
    for (int i = 0; i < 3; ++i) {
        QVERIFY2(publisher.publish(QStringLiteral("raw"), bytes), qPrintable(publisher.errorString()));
    }

    QVERIFY(watcher->waitForFinished(ProcessTimeoutMs));
    QCOMPARE(watcher->exitCode(), 0);
    const QList<QJsonObject> lines = parseLines(watcher->readAllStandardOutput());
    QCOMPARE(lines.size(), 3);
    for (const QJsonObject &line : lines) {
        QCOMPARE(line.value(QLatin1String("event")).toString(), QStringLiteral("raw"));
        QCOMPARE(line.value(QLatin1String("value")).toString(),
                 QString::fromLatin1(bytes.toBase64(QByteArray::Base64UrlEncoding
                                                    | QByteArray::OmitTrailingEquals)));
        QCOMPARE(line.value(QLatin1String("pid")).toInteger(), QCoreApplication::applicationPid());
    }
}

void tst_MventEvents::watchStopsOnSignal_data()
{
    QTest::addColumn<int>("signalNumber");
    QTest::newRow("SIGINT") << int(SIGINT);
    QTest::newRow("SIGTERM") << int(SIGTERM);
}

void tst_MventEvents::watchStopsOnSignal()
{
    QFETCH(int, signalNumber);
    SharedMemoryPool *pool = createPool();
    QVERIFY2(pool->isAttached(), qPrintable(pool->errorString()));
    const qint64 baseline = pool->stats().attachedProcesses;

    QProcess *watcher = startWatch({pool->name()});
    QVERIFY(watcher->waitForStarted());
    QTRY_COMPARE(pool->stats().attachedProcesses, baseline + 1);
    const Result emitted = runMvent({QStringLiteral("emit"), pool->name(), QStringLiteral("tick"),
                                     QStringLiteral("true")});
    QCOMPARE(emitted.exitCode, 0);
    QTRY_VERIFY(watcher->canReadLine());

    QCOMPARE(::kill(pid_t(watcher->processId()), signalNumber), 0);
    QVERIFY(watcher->waitForFinished(ProcessTimeoutMs));
    QCOMPARE(watcher->exitStatus(), QProcess::NormalExit);
    QCOMPARE(watcher->exitCode(), 0);
    const QList<QJsonObject> lines = parseLines(watcher->readAllStandardOutput());
    QCOMPARE(lines.size(), 1);
    QCOMPARE(lines.at(0).value(QLatin1String("value")).toBool(), true);
    // A clean exit releases the slot at once, without waiting for the dead-slot sweep.
    QCOMPARE(pool->stats().attachedProcesses, baseline);
}

void tst_MventEvents::watchInvalidCountIsUsageError()
{
    SharedMemoryPool *pool = createPool();
    QVERIFY2(pool->isAttached(), qPrintable(pool->errorString()));
    const Result result = runMvent({QStringLiteral("watch"), pool->name(), QStringLiteral("--count"),
                                    QStringLiteral("0")});
    QCOMPARE(result.exitCode, 2);
    QVERIFY2(result.errorOutput.contains("invalid --count value '0'"), result.errorOutput);
}

void tst_MventEvents::emitReadsStandardInput()
{
    SharedMemoryPool *pool = createPool();
    QVERIFY2(pool->isAttached(), qPrintable(pool->errorString()));
    EventManager subscriber(pool->name());
    QVERIFY2(subscriber.isAttached(), qPrintable(subscriber.errorString()));
    QVariantList values;
    connect(&subscriber, &EventManager::eventReceived, this,
            [&values](const QString &, const QVariant &value) { values.append(value); });
    subscriber.subscribe(QStringLiteral("piped"));

    const Result result = runMvent({QStringLiteral("emit"), pool->name(), QStringLiteral("piped"),
                                    QStringLiteral("-")},
                                   "[1, \"two\"]\n");
    QCOMPARE(result.exitCode, 0);
    QTRY_COMPARE(values.size(), 1);
    QCOMPARE(values.at(0).toList(), (QVariantList{qint64(1), QStringLiteral("two")}));
}

void tst_MventEvents::emitWithTtlStoresLastValue()
{
    SharedMemoryPool *pool = createPool();
    QVERIFY2(pool->isAttached(), qPrintable(pool->errorString()));
    const Result result = runMvent({QStringLiteral("emit"), pool->name(), QStringLiteral("status"),
                                    QStringLiteral("\"ready\""), QStringLiteral("--ttl"),
                                    QStringLiteral("600000")});
    QCOMPARE(result.exitCode, 0);

    EventManager lateJoiner(pool->name());
    QVERIFY2(lateJoiner.isAttached(), qPrintable(lateJoiner.errorString()));
    QCOMPARE(lateJoiner.lastValue(QStringLiteral("status")).toString(), QStringLiteral("ready"));

    const Result withoutTtl = runMvent({QStringLiteral("emit"), pool->name(),
                                        QStringLiteral("transient"), QStringLiteral("1")});
    QCOMPARE(withoutTtl.exitCode, 0);
    QVERIFY(!lateJoiner.lastValue(QStringLiteral("transient")).isValid());
}

void tst_MventEvents::emitInvalidJsonFails()
{
    SharedMemoryPool *pool = createPool();
    QVERIFY2(pool->isAttached(), qPrintable(pool->errorString()));
    const quint64 sequenceBefore = pool->stats().eventSequence;

    const Result result = runMvent({QStringLiteral("emit"), pool->name(), QStringLiteral("bad"),
                                    QStringLiteral("not json")});
    QCOMPARE(result.exitCode, 1);
    QVERIFY2(result.errorOutput.contains("invalid JSON value for event 'bad'"),
             result.errorOutput);
    // emit has no --raw, so the hint offers only the quoting.
    QVERIFY2(result.errorOutput.endsWith("; quote a string as '\"text\"'\n"), result.errorOutput);
    QCOMPARE(pool->stats().eventSequence, sequenceBefore);
}

void tst_MventEvents::emitInvalidObjectHintsAtKeys()
{
    SharedMemoryPool *pool = createPool();
    QVERIFY2(pool->isAttached(), qPrintable(pool->errorString()));
    const quint64 sequenceBefore = pool->stats().eventSequence;

    const Result result = runMvent({QStringLiteral("emit"), pool->name(), QStringLiteral("bad"),
                                    QStringLiteral("{max: 42}")});
    QCOMPARE(result.exitCode, 1);
    QCOMPARE(result.errorOutput,
             QByteArray("mvent: invalid JSON value for event 'bad': unterminated object at byte "
                        "offset 2; object keys must be double-quoted strings, as in "
                        "'{\"max\": 42}'\n"));
    QCOMPARE(pool->stats().eventSequence, sequenceBefore);
}

void tst_MventEvents::emitWorksOnFullPool()
{
    // The pool object takes one of the two slots and the subscriber the other.
    SharedMemoryPool *pool = createPool(2);
    QVERIFY2(pool->isAttached(), qPrintable(pool->errorString()));
    EventManager subscriber(pool->name());
    QVERIFY2(subscriber.isAttached(), qPrintable(subscriber.errorString()));
    QVariantList values;
    connect(&subscriber, &EventManager::eventReceived, this,
            [&values](const QString &, const QVariant &value) { values.append(value); });
    subscriber.subscribe(QStringLiteral("level"));

    SharedMemoryPool::Options attachOptions;
    attachOptions.openMode = SharedMemoryPool::AttachOnly;
    const SharedMemoryPool third(pool->name(), attachOptions);
    QVERIFY2(!third.isAttached(), "the pool should have no free slot");
    QCOMPARE(third.error(), SharedMemoryPool::ResourceError);
    const PoolStats before = pool->stats();
    QCOMPARE(before.attachedProcesses, 2);

    for (int i = 0; i < 3; ++i) {
        const Result emitted = runMvent(
                {QStringLiteral("emit"), pool->name(), QStringLiteral("level"), QString::number(i)});
        QCOMPARE(emitted.errorOutput, QByteArray());
        QCOMPARE(emitted.exitCode, 0);
    }
    QTRY_COMPARE(values.size(), 3);
    QCOMPARE(values.at(2).toLongLong(), 2);

    // A one-shot emit leaves neither a slot nor a stats block behind.
    const PoolStats after = pool->stats();
    QCOMPARE(after.attachedProcesses, before.attachedProcesses);
    QCOMPARE(after.statsBytes, before.statsBytes);

    // watch receives, so it needs a slot and fails with one message.
    const Result watch = runMvent({QStringLiteral("watch"), pool->name(), QStringLiteral("--count"),
                                   QStringLiteral("1")});
    QCOMPARE(watch.exitCode, 1);
    QVERIFY2(watch.errorOutput.contains("attachment slots in use"), watch.errorOutput);
    QCOMPARE(watch.errorOutput.count('\n'), 1);
}

void tst_MventEvents::emitRejectsOutOfRangeInteger()
{
    SharedMemoryPool *pool = createPool();
    QVERIFY2(pool->isAttached(), qPrintable(pool->errorString()));
    const quint64 sequenceBefore = pool->stats().eventSequence;

    const Result result = runMvent({QStringLiteral("emit"), pool->name(), QStringLiteral("big"),
                                    QStringLiteral("18446744073709551616")});
    QCOMPARE(result.exitCode, 1);
    QVERIFY2(result.errorOutput.startsWith("mvent: integer 18446744073709551616 in the value for "
                                           "event 'big' is outside the qint64 range"),
             result.errorOutput);
    QCOMPARE(pool->stats().eventSequence, sequenceBefore);
}

void tst_MventEvents::watchReportsCreatedPool()
{
    const QString name = QStringLiteral("tst-mventevents-%1-missing")
                                 .arg(QCoreApplication::applicationPid());
    m_names.append(name);
    QVERIFY(!SharedMemoryPool::pools().contains(name));

    QProcess *watcher = startWatch({name, QStringLiteral("--count"), QStringLiteral("1")});
    QVERIFY(watcher->waitForStarted());
    QByteArray errorOutput;
    QTRY_VERIFY_WITH_TIMEOUT((errorOutput += watcher->readAllStandardError()).contains('\n'),
                             ProcessTimeoutMs);
    QCOMPARE(errorOutput.count('\n'), 1);
    QVERIFY2(errorOutput.startsWith("mvent: pool '" + name.toUtf8() + "' did not exist in "),
             errorOutput);
    QVERIFY2(errorOutput.contains("so watch created it and waits for its events"), errorOutput);
    QVERIFY2(errorOutput.contains("run 'mvent pools'"), errorOutput);
    QVERIFY(SharedMemoryPool::pools().contains(name));

    // Apart from the note, watch works as on any other pool.
    const Result emitted =
            runMvent({QStringLiteral("emit"), name, QStringLiteral("tick"), QStringLiteral("1")});
    QCOMPARE(emitted.exitCode, 0);
    QVERIFY(watcher->waitForFinished(ProcessTimeoutMs));
    QCOMPARE(watcher->exitCode(), 0);
    QCOMPARE(parseLines(watcher->readAllStandardOutput()).size(), 1);
    QCOMPARE(watcher->readAllStandardError(), QByteArray());
}

void tst_MventEvents::emitReportsCreatedPool()
{
    const QString name = QStringLiteral("tst-mventevents-%1-emitmissing")
                                 .arg(QCoreApplication::applicationPid());
    m_names.append(name);
    QVERIFY(!SharedMemoryPool::pools().contains(name));

    const Result first =
            runMvent({QStringLiteral("emit"), name, QStringLiteral("tick"), QStringLiteral("1")});
    QCOMPARE(first.exitCode, 0);
    QVERIFY2(first.errorOutput.contains("so emit created it"), first.errorOutput.constData());
    QVERIFY(SharedMemoryPool::pools().contains(name));

    // The second emit finds the pool and prints nothing.
    const Result second =
            runMvent({QStringLiteral("emit"), name, QStringLiteral("tick"), QStringLiteral("2")});
    QCOMPARE(second.exitCode, 0);
    QCOMPARE(second.errorOutput, QByteArray());
}

void tst_MventEvents::watchReportsMissedEvents()
{
    SharedMemoryPool *pool = createPool();
    QVERIFY2(pool->isAttached(), qPrintable(pool->errorString()));
    const qint64 baseline = pool->stats().attachedProcesses;
    const qint64 logSize = pool->stats().eventLogSize;
    EventManager publisher(pool->name());
    QVERIFY2(publisher.isAttached(), qPrintable(publisher.errorString()));

    QProcess *watcher = startWatch({pool->name()});
    QVERIFY(watcher->waitForStarted());
    QTRY_COMPARE(pool->stats().attachedProcesses, baseline + 2);

    // A stopped watcher cannot read, so publishing more than the log can contain overwrites
    // events that it has not read yet.
    QCOMPARE(::kill(pid_t(watcher->processId()), SIGSTOP), 0);
    const QByteArray payload(256, 'x');
    const qint64 eventCount = 4 * logSize / payload.size();
    for (qint64 i = 0; i < eventCount; ++i) {
        QVERIFY2(publisher.publish(QStringLiteral("flood"), payload),
                 qPrintable(publisher.errorString()));
    }
    QCOMPARE(::kill(pid_t(watcher->processId()), SIGCONT), 0);

    QByteArray errorOutput;
    QTRY_VERIFY_WITH_TIMEOUT((errorOutput += watcher->readAllStandardError()).contains('\n'),
                             ProcessTimeoutMs);
    QVERIFY2(errorOutput.startsWith("mvent: watch missed "), errorOutput);
    QVERIFY2(errorOutput.contains(" events of pool '" + pool->name().toUtf8() + "'"), errorOutput);
    // The library's own warning stays hidden without --verbose.
    QVERIFY2(!errorOutput.contains("mvent.event:"), errorOutput);

    QCOMPARE(::kill(pid_t(watcher->processId()), SIGTERM), 0);
    QVERIFY(watcher->waitForFinished(ProcessTimeoutMs));
    QCOMPARE(watcher->exitStatus(), QProcess::NormalExit);
    QCOMPARE(watcher->exitCode(), 0);
}

QTEST_GUILESS_MAIN(tst_MventEvents)
#include "tst_mventevents.moc"
