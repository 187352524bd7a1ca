// SPDX-License-Identifier: MIT
#include "eventcommands.h"

#include "commandline.h"
#include "jsontext.h"
#include "terminationsignals.h"

#include <eventmanager.h>

#include <QCoreApplication>
#include <QElapsedTimer>

#include <climits>
#include <cstdio>
#include <memory>

namespace mvent::cli {

namespace {

QString poolDescription()
{
    return poolArgumentDescription(
            QStringLiteral("The pool is created with default options if it does not exist."));
}

// Shortest time between two missed-events warnings of watch, in milliseconds.
constexpr qint64 MissedWarningIntervalMs = 1000;

/*
    Opens the pool \a poolName with \a options, creating it if it does not exist, and sets
    \a created when this call created it. Attaching first and creating with CreateOnly
    distinguishes the two cases even when another process creates the pool at the same moment.
*/
std::unique_ptr<EventManager> openOrCreatePool(const QString &poolName,
                                               EventManager::Options options, bool *created)
{
    *created = false;
    options.pool.openMode = SharedMemoryPool::AttachOnly;
    auto manager = std::make_unique<EventManager>(poolName, options);
    if (manager->isAttached() || manager->error() != SharedMemoryPool::NotFound) {
        return manager;
    }

    options.pool.openMode = SharedMemoryPool::CreateOnly;
    manager = std::make_unique<EventManager>(poolName, options);
    if (manager->isAttached()) {
        *created = true;
        return manager;
    }
    if (manager->error() != SharedMemoryPool::AlreadyExists) {
        return manager;
    }
    options.pool.openMode = SharedMemoryPool::AttachOnly;
    return std::make_unique<EventManager>(poolName, options);
}

/*
    Prints a warning for events that the pool's log overwrote before watch read them, with the
    sum of the counts since the last warning. add() prints at most once per
    MissedWarningIntervalMs, and flush() prints what is left when watch ends.
*/
class MissedEventsWarning
{
public:
    explicit MissedEventsWarning(const QString &poolName)
        : m_poolName(poolName)
    {
    }

    void add(quint64 count)
    {
        m_unreported += count;
        if (!m_clock.isValid() || m_clock.hasExpired(MissedWarningIntervalMs)) {
            flush();
        }
    }

    // Prints the events not yet reported, if any.
    void flush()
    {
        if (m_unreported == 0) {
            return;
        }
        printError(QStringLiteral("watch missed %1 events of pool '%2', because the pool's "
                                  "event log overwrote them before watch read them; read the "
                                  "output faster, or create the pool with a larger size, as in "
                                  "'mvent set --size', for a larger log")
                           .arg(m_unreported)
                           .arg(m_poolName));
        m_unreported = 0;
        m_clock.start();
    }

private:
    QString m_poolName;
    quint64 m_unreported = 0;
    QElapsedTimer m_clock;
};

// Formats one event as the JSON line that watch prints. The text is assembled by hand
// because QJsonObject sorts its keys, and the line keeps the order event, value, seq, pid.
QByteArray eventLine(const QString &name, const QVariant &value,
                     const EventManager::EventInfo &info)
{
    return "{\"event\":" + jsonFromVariant(name, false).trimmed()
            + ",\"value\":" + jsonFromVariant(value, false).trimmed()
            + ",\"seq\":" + QByteArray::number(info.sequence)
            + ",\"pid\":" + QByteArray::number(info.publisherPid) + "}\n";
}

} // namespace

int runEmit(const QStringList &arguments)
{
    CommandLine commandLine(
            QStringLiteral("emit"), QStringLiteral("POOL EVENT VALUE"),
            QStringLiteral(
                    "Publishes one event to a pool. Every process subscribed to EVENT receives "
                    "it, 'mvent watch' included. VALUE is one JSON value, converted as 'mvent "
                    "set' converts it. A JSON string needs its quotes, as in '\"text\"'. Put -- "
                    "before a VALUE that starts with '-', as in 'mvent emit pool level -- -5'. "
                    "emit takes none of the pool's process slots, so it also works on a pool "
                    "whose slots are all in use."));
    QCommandLineParser &parser = commandLine.parser();
    parser.addPositionalArgument(QStringLiteral("POOL"), poolDescription());
    parser.addPositionalArgument(QStringLiteral("EVENT"), QStringLiteral("Event name."));
    parser.addPositionalArgument(QStringLiteral("VALUE"),
                                 QStringLiteral("JSON text, or - to read it from standard input."));
    const QCommandLineOption ttlOption(
            QStringLiteral("ttl"),
            QStringLiteral("Also store VALUE under the key EVENT for <ms> milliseconds, so that "
                           "processes started later can read it as the event's last value. 0, "
                           "the default, stores nothing."),
            QStringLiteral("ms"), QStringLiteral("0"));
    parser.addOption(ttlOption);
    if (const std::optional<int> exitCode = commandLine.parse(arguments, 3, 3)) {
        return *exitCode;
    }

    const std::optional<qint64> ttlMs = commandLine.integerOption(
            ttlOption, 0, QStringLiteral("a whole number of milliseconds, 0 to store nothing"));
    if (!ttlMs) {
        return ExitUsage;
    }

    const QString poolName = parser.positionalArguments().at(0);
    const QString event = parser.positionalArguments().at(1);
    const QByteArray text = valueArgumentText(parser.positionalArguments().at(2));

    // The value is checked before the pool is opened, so invalid JSON creates no pool.
    const std::optional<QVariant> value =
            parseJsonValue(text, QStringLiteral("event '%1'").arg(event), false);
    if (!value) {
        return ExitFailure;
    }

    // Publishing needs no process slot, so emit works on a pool whose slots are all taken and
    // leaves no stats block behind.
    EventManager::Options options;
    options.pool.useProcessSlot = false;
    bool created = false;
    const std::unique_ptr<EventManager> manager = openOrCreatePool(poolName, options, &created);
    if (!manager->isAttached() || !manager->publish(event, *value, *ttlMs)) {
        printError(manager->errorString());
        return ExitFailure;
    }
    if (created) {
        // The event went out, but a mistyped name would otherwise leave no sign.
        printError(QStringLiteral("pool '%1' did not exist in %2, so emit created it; if the "
                                  "name is mistyped, run 'mvent pools' to list the pools")
                           .arg(poolName, SharedMemoryPool::runtimeDirectory()));
    }
    return ExitSuccess;
}

int runWatch(const QStringList &arguments)
{
    CommandLine commandLine(
            QStringLiteral("watch"), QStringLiteral("POOL [EVENT...]"),
            QStringLiteral(
                    "Prints one line of JSON per event that any process publishes to a pool "
                    "from now on: {\"event\":NAME,\"value\":VALUE,\"seq\":SEQUENCE,\"pid\":PID}. "
                    "SEQUENCE is the event's position in the pool's log and PID the "
                    "publisher's process id. Values are converted to JSON as 'mvent get' "
                    "converts them. Without EVENT, every event is printed. Runs until --count "
                    "events were printed or SIGINT or SIGTERM arrives, then exits with status "
                    "0, or with status 1 if the pool is destroyed. Events that the pool's log "
                    "overwrote before watch read them are reported as a warning on standard "
                    "error. watch takes one of the pool's process slots while it runs."));
    QCommandLineParser &parser = commandLine.parser();
    parser.addPositionalArgument(
            QStringLiteral("POOL"),
            poolArgumentDescription(QStringLiteral(
                    "The pool is created with default options if it does not exist, and watch "
                    "then says so in one line on standard error.")));
    parser.addPositionalArgument(QStringLiteral("EVENT"),
                                 QStringLiteral("Event names to print; every event if none."),
                                 QStringLiteral("[EVENT...]"));
    const QCommandLineOption countOption(
            QStringLiteral("count"),
            QStringLiteral("Exit after printing <n> events (default: run until stopped)."),
            QStringLiteral("n"));
    parser.addOption(countOption);
    if (const std::optional<int> exitCode = commandLine.parse(arguments, 1, INT_MAX)) {
        return *exitCode;
    }

    qint64 count = 0;
    if (parser.isSet(countOption)) {
        const std::optional<qint64> countValue = commandLine.integerOption(
                countOption, 1, QStringLiteral("a positive whole number of events"));
        if (!countValue) {
            return ExitUsage;
        }
        count = *countValue;
    }

    const TerminationSignals signalHandling;
    if (!signalHandling.checkValid()) {
        return ExitFailure;
    }

    QStringList events = parser.positionalArguments();
    const QString poolName = events.takeFirst();
    bool created = false;
    const std::unique_ptr<EventManager> opened =
            openOrCreatePool(poolName, EventManager::Options(), &created);
    EventManager &manager = *opened;
    if (!manager.isAttached()) {
        printError(manager.errorString());
        return ExitFailure;
    }
    if (created) {
        // A mistyped name would otherwise wait silently on a new, empty pool.
        printError(QStringLiteral("pool '%1' did not exist in %2, so watch created it and waits "
                                  "for its events; if the name is mistyped, stop watch and run "
                                  "'mvent pools' to list the pools")
                           .arg(poolName, SharedMemoryPool::runtimeDirectory()));
    }

    // The library's own warning is hidden unless --verbose is given, so watch reports lost
    // events itself.
    MissedEventsWarning missedWarning(poolName);
    QObject::connect(&manager, &EventManager::eventsMissed, qApp,
                     [&missedWarning](quint64 count) { missedWarning.add(count); });

    qint64 printed = 0;
    manager.setRecordHandler([&printed, count](const QString &name, const QVariant &value,
                                               const EventManager::EventInfo &info) {
        // One batch may contain more events than --count leaves; those are not printed.
        if (count > 0 && printed >= count) {
            return;
        }
        writeOutput(eventLine(name, value, info));
        std::fflush(stdout);
        ++printed;
        if (printed == count) {
            QMetaObject::invokeMethod(qApp, &QCoreApplication::quit, Qt::QueuedConnection);
        }
    });
    int exitCode = ExitSuccess;
    QObject::connect(&manager, &EventManager::poolDestroyed, qApp, [&exitCode, &poolName] {
        printError(QStringLiteral("pool '%1' was destroyed while watching it").arg(poolName));
        exitCode = ExitFailure;
        QCoreApplication::quit();
    });

    if (events.isEmpty()) {
        manager.subscribeAll();
    } else {
        for (const QString &event : std::as_const(events)) {
            manager.subscribe(event);
        }
    }
    QCoreApplication::exec();
    missedWarning.flush();
    return exitCode;
}

} // namespace mvent::cli
