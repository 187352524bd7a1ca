// SPDX-License-Identifier: MIT
#include "commands.h"

#include "commandline.h"
#include "eventcommands.h"
#include "jsontext.h"
#include "monitorcommands.h"
#include "prometheusexport.h"

#include <monitoringtools.h>
#include <sharedmemorypool.h>

#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <memory>

namespace mvent::cli {

namespace {

struct Command
{
    QString name;
    QString summary;
    int (*run)(const QStringList &arguments);
};

// Options that open an existing pool without creating it.
SharedMemoryPool::Options attachOnlyOptions()
{
    SharedMemoryPool::Options options;
    options.openMode = SharedMemoryPool::AttachOnly;
    options.useProcessSlot = false; // works on a pool whose slots are all taken
    return options;
}

// Opens an existing pool without creating it. Returns nullptr after printing the error.
std::unique_ptr<SharedMemoryPool> attachExisting(const QString &name)
{
    auto pool = std::make_unique<SharedMemoryPool>(name, attachOnlyOptions());
    if (pool->isAttached()) {
        return pool;
    }

    QString message = pool->errorString();
    if (pool->error() == SharedMemoryPool::NotFound) {
        message += missingPoolHint();
    }
    printError(message);
    return nullptr;
}

// Prints the error of the last operation on \a pool, if it failed, and returns whether it did.
bool reportPoolError(const SharedMemoryPool &pool)
{
    if (pool.error() == SharedMemoryPool::NoError) {
        return false;
    }
    printError(pool.errorString());
    return true;
}

QString keyNotFound(const QString &key, const QString &pool)
{
    return QStringLiteral("key '%1' not found in pool '%2'").arg(key, pool);
}

const QCommandLineOption &jsonOption()
{
    static const QCommandLineOption option(QStringLiteral("json"),
                                           QStringLiteral("Print JSON instead of a table."));
    return option;
}

const QCommandLineOption &prettyOption()
{
    static const QCommandLineOption option(QStringLiteral("pretty"),
                                           QStringLiteral("Indent the JSON over several lines."));
    return option;
}

QByteArray documentText(const QJsonDocument &document, bool indented)
{
    QByteArray text = document.toJson(indented ? QJsonDocument::Indented : QJsonDocument::Compact);
    if (!text.endsWith('\n')) {
        text.append('\n');
    }
    return text;
}

// Returns the STATUS cell of 'mvent pools' for a pool that failed to open with \a error.
QString poolStatus(SharedMemoryPool::Error error)
{
    switch (error) {
    case SharedMemoryPool::CorruptSegment:
        return QStringLiteral("corrupt");
    case SharedMemoryPool::IncompatibleVersion:
        return QStringLiteral("incompatible");
    case SharedMemoryPool::PermissionDenied:
        return QStringLiteral("denied");
    default:
        return QStringLiteral("unreadable");
    }
}

int runPools(const QStringList &arguments)
{
    CommandLine commandLine(
            QStringLiteral("pools"), QString(),
            QStringLiteral(
                    "Lists the file-backed pools in the runtime directory (%1) with their size "
                    "in bytes, number of keys and number of attached processes, this one not "
                    "counted, and a STATUS. Each pool is opened with AttachOnly to read these "
                    "figures. A pool that cannot be opened is listed with '-' for the figures "
                    "and the STATUS corrupt, incompatible (written by another mvent version), "
                    "denied (no permission) or unreadable, and its error follows the table on "
                    "standard error. The exit status stays 0. With --json, such a pool has the "
                    "keys 'status' and 'error' instead of the figures. Pools backed by "
                    "QSharedMemory are not listed.")
                    .arg(SharedMemoryPool::runtimeDirectory()));
    commandLine.parser().addOption(jsonOption());
    if (const std::optional<int> exitCode = commandLine.parse(arguments, 0, 0)) {
        return *exitCode;
    }
    const bool asJson = commandLine.parser().isSet(jsonOption());

    QJsonArray entries;
    QList<QStringList> rows{ { QStringLiteral("NAME"), QStringLiteral("SIZE"),
                               QStringLiteral("KEYS"), QStringLiteral("PROCESSES"),
                               QStringLiteral("STATUS") } };
    // The full errors are long, so the table shows a status word, and the errors follow the
    // table on standard error.
    QStringList errors;
    const QStringList names = SharedMemoryPool::pools();
    for (const QString &name : names) {
        const SharedMemoryPool pool(name, attachOnlyOptions());
        if (!pool.isAttached()) {
            const QString status = poolStatus(pool.error());
            entries.append(QJsonObject{ { QStringLiteral("name"), name },
                                        { QStringLiteral("status"), status },
                                        { QStringLiteral("error"), pool.errorString() } });
            const QString none = QStringLiteral("-");
            rows.append({ name, none, none, none, status });
            errors.append(pool.errorString());
            continue;
        }

        const PoolStats stats = pool.stats();
        const qsizetype keyCount = pool.keys().size();
        entries.append(
                QJsonObject{ { QStringLiteral("name"), name },
                             { QStringLiteral("status"), QStringLiteral("ok") },
                             { QStringLiteral("totalSize"), stats.totalSize },
                             { QStringLiteral("keyCount"), keyCount },
                             { QStringLiteral("attachedProcesses"), stats.attachedProcesses } });
        rows.append({ name, QString::number(stats.totalSize), QString::number(keyCount),
                      QString::number(stats.attachedProcesses), QStringLiteral("ok") });
    }

    if (asJson) {
        writeOutput(documentText(QJsonDocument(entries), false));
        return ExitSuccess;
    }
    if (names.isEmpty()) {
        writeOutput(QStringLiteral("no pools in %1\n")
                            .arg(SharedMemoryPool::runtimeDirectory())
                            .toLocal8Bit());
        return ExitSuccess;
    }
    writeOutput(tableText(rows));
    for (const QString &error : std::as_const(errors)) {
        printError(error);
    }
    return ExitSuccess;
}

int runKeys(const QStringList &arguments)
{
    CommandLine commandLine(QStringLiteral("keys"), QStringLiteral("POOL"),
                            QStringLiteral("Prints the keys of a pool that have not expired, one "
                                           "per line, sorted by UTF-16 code unit."));
    commandLine.parser().addPositionalArgument(QStringLiteral("POOL"), poolArgumentDescription());
    if (const std::optional<int> exitCode = commandLine.parse(arguments, 1, 1)) {
        return *exitCode;
    }

    const std::unique_ptr<SharedMemoryPool> pool =
            attachExisting(commandLine.parser().positionalArguments().at(0));
    if (!pool) {
        return ExitFailure;
    }
    QStringList keys = pool->keys();
    if (reportPoolError(*pool)) {
        return ExitFailure;
    }

    std::sort(keys.begin(), keys.end());
    QByteArray text;
    for (const QString &key : std::as_const(keys)) {
        text += key.toUtf8() + '\n';
    }
    writeOutput(text);
    return ExitSuccess;
}

int runGet(const QStringList &arguments)
{
    CommandLine commandLine(
            QStringLiteral("get"), QStringLiteral("POOL KEY"),
            QStringLiteral(
                    "Prints the value of a key as JSON, converted by the rules of Qt's "
                    "QCborValue::toJsonValue(): a byte array, such as a value stored with "
                    "'set --raw', becomes a base64url string without padding, a date-time an "
                    "ISO 8601 string, and NaN or infinity null."));
    QCommandLineParser &parser = commandLine.parser();
    parser.addPositionalArgument(QStringLiteral("POOL"), poolArgumentDescription());
    parser.addPositionalArgument(QStringLiteral("KEY"), QStringLiteral("Key to read."));
    parser.addOption(prettyOption());
    const QCommandLineOption rawOption(
            QStringLiteral("raw"),
            QStringLiteral("Write a byte-array value unchanged, or a string value as UTF-8, "
                           "without JSON quoting or a trailing newline. Fails for other types."));
    parser.addOption(rawOption);
    if (const std::optional<int> exitCode = commandLine.parse(arguments, 2, 2)) {
        return *exitCode;
    }

    const QString poolName = parser.positionalArguments().at(0);
    const QString key = parser.positionalArguments().at(1);
    const std::unique_ptr<SharedMemoryPool> pool = attachExisting(poolName);
    if (!pool) {
        return ExitFailure;
    }
    const QVariant value = pool->value(key);
    if (reportPoolError(*pool)) {
        return ExitFailure;
    }
    // A stored JSON null reads back as a valid std::nullptr_t value, so an invalid QVariant
    // means the key is missing or expired.
    if (!value.isValid()) {
        printError(keyNotFound(key, poolName));
        return ExitFailure;
    }

    if (!parser.isSet(rawOption)) {
        writeOutput(jsonFromVariant(value, parser.isSet(prettyOption())));
        return ExitSuccess;
    }
    switch (value.metaType().id()) {
    case QMetaType::QByteArray:
        writeOutput(value.toByteArray());
        return ExitSuccess;
    case QMetaType::QString:
        writeOutput(value.toString().toUtf8());
        return ExitSuccess;
    default:
        printError(QStringLiteral("value of key '%1' in pool '%2' has type %3, which --raw "
                                  "cannot write; omit --raw to print it as JSON")
                           .arg(key, poolName, QLatin1String(value.metaType().name())));
        return ExitFailure;
    }
}

int runSet(const QStringList &arguments)
{
    CommandLine commandLine(
            QStringLiteral("set"), QStringLiteral("POOL KEY VALUE"),
            QStringLiteral(
                    "Stores a value under a key, creating the pool with default options if it "
                    "does not exist. VALUE is one JSON value of any type. An object becomes a "
                    "QVariantMap and an array a QVariantList. A number with an integral value "
                    "in the qint64 range, such as 3 or 1.0, becomes a qint64, another number a "
                    "double, and null a std::nullptr_t value. An integer written without a "
                    "fraction or exponent outside the qint64 range, such as "
                    "18446744073709551616, is rejected, because a double would round it. A "
                    "JSON string needs its quotes, as in '\"text\"'. "
                    "Put -- before a VALUE that starts with '-', as in "
                    "'mvent set pool key -- -5'."));
    QCommandLineParser &parser = commandLine.parser();
    parser.addPositionalArgument(QStringLiteral("POOL"), poolArgumentDescription());
    parser.addPositionalArgument(QStringLiteral("KEY"), QStringLiteral("Key to write."));
    parser.addPositionalArgument(QStringLiteral("VALUE"),
                                 QStringLiteral("JSON text, or - to read it from standard input."));
    const QCommandLineOption rawOption(
            QStringLiteral("raw"),
            QStringLiteral("Store VALUE, or standard input for -, as a byte array unchanged "
                           "instead of parsing it as JSON. 'get' prints it as base64url."));
    const QCommandLineOption ttlOption(
            QStringLiteral("ttl"),
            QStringLiteral("Expire the value <ms> milliseconds from now; 0, the default, keeps "
                           "it until removed."),
            QStringLiteral("ms"), QStringLiteral("0"));
    const QCommandLineOption sizeOption(
            QStringLiteral("size"),
            QStringLiteral("Size of the whole segment in bytes when the pool is created "
                           "(default: %1). Ignored for an existing pool.")
                    .arg(SharedMemoryPool::Options().size),
            QStringLiteral("bytes"));
    parser.addOptions({ rawOption, ttlOption, sizeOption });
    if (const std::optional<int> exitCode = commandLine.parse(arguments, 3, 3)) {
        return *exitCode;
    }

    const std::optional<qint64> ttlMs = commandLine.integerOption(
            ttlOption, 0, QStringLiteral("a whole number of milliseconds, 0 for no expiry"));
    if (!ttlMs) {
        return ExitUsage;
    }
    SharedMemoryPool::Options options;
    options.useProcessSlot = false;
    if (parser.isSet(sizeOption)) {
        const std::optional<qint64> size = commandLine.integerOption(
                sizeOption, 1, QStringLiteral("a positive number of bytes"));
        if (!size) {
            return ExitUsage;
        }
        options.size = *size;
    }

    const QString poolName = parser.positionalArguments().at(0);
    const QString key = parser.positionalArguments().at(1);
    const QByteArray text = valueArgumentText(parser.positionalArguments().at(2));

    // The value is checked before the pool is opened, so invalid JSON creates no pool.
    QVariant value;
    if (parser.isSet(rawOption)) {
        value = QVariant(text);
    } else {
        std::optional<QVariant> parsed =
                parseJsonValue(text, QStringLiteral("key '%1'").arg(key), true);
        if (!parsed) {
            return ExitFailure;
        }
        value = std::move(*parsed);
    }

    SharedMemoryPool pool(poolName, options);
    if (!pool.isAttached() || !pool.set(key, value, *ttlMs)) {
        printError(pool.errorString());
        return ExitFailure;
    }
    return ExitSuccess;
}

int runDel(const QStringList &arguments)
{
    CommandLine commandLine(QStringLiteral("del"), QStringLiteral("POOL KEY"),
                            QStringLiteral("Removes a key from a pool. Exits with status 1 if "
                                           "the key does not exist."));
    QCommandLineParser &parser = commandLine.parser();
    parser.addPositionalArgument(QStringLiteral("POOL"), poolArgumentDescription());
    parser.addPositionalArgument(QStringLiteral("KEY"), QStringLiteral("Key to remove."));
    if (const std::optional<int> exitCode = commandLine.parse(arguments, 2, 2)) {
        return *exitCode;
    }

    const QString poolName = parser.positionalArguments().at(0);
    const QString key = parser.positionalArguments().at(1);
    const std::unique_ptr<SharedMemoryPool> pool = attachExisting(poolName);
    if (!pool) {
        return ExitFailure;
    }
    if (pool->remove(key)) {
        return ExitSuccess;
    }
    if (!reportPoolError(*pool)) {
        printError(keyNotFound(key, poolName));
    }
    return ExitFailure;
}

QList<QStringList> statsRows(const PoolStats &stats)
{
    const auto bytes = [](qint64 value) { return QStringLiteral("%1 bytes").arg(value); };
    return {
        { QStringLiteral("name"), stats.name },
        { QStringLiteral("path"), stats.path },
        { QStringLiteral("backing"), stats.backing },
        { QStringLiteral("created at"), stats.createdAt.toString(Qt::ISODateWithMs) },
        { QStringLiteral("total size"), bytes(stats.totalSize) },
        { QStringLiteral("heap size"), bytes(stats.heapSize) },
        { QStringLiteral("used"), bytes(stats.usedBytes) },
        { QStringLiteral("free"), bytes(stats.freeBytes) },
        { QStringLiteral("largest free block"), bytes(stats.largestFreeBlock) },
        { QStringLiteral("entries"),
          QStringLiteral("%1 of %2").arg(stats.entryCount).arg(stats.maxEntries) },
        { QStringLiteral("max key length"), bytes(stats.maxKeyLength) },
        { QStringLiteral("max value size"), bytes(stats.maxValueSize) },
        { QStringLiteral("attached processes"),
          QStringLiteral("%1 (of %2 slots)")
                  .arg(stats.attachedProcesses)
                  .arg(stats.maxAttachments) },
        { QStringLiteral("event log size"), bytes(stats.eventLogSize) },
        { QStringLiteral("event sequence"), QString::number(stats.eventSequence) },
        { QStringLiteral("recoveries"), QString::number(stats.recoveries) },
    };
}

int runStats(const QStringList &arguments)
{
    CommandLine commandLine(
            QStringLiteral("stats"), QStringLiteral("POOL"),
            QStringLiteral(
                    "Prints the figures of a pool read from its segment header, then a table "
                    "of the events and one of the handlers that the pool's processes recorded. "
                    "With --json, prints an object with the PoolStats member names as keys and "
                    "sizes in bytes, and the arrays 'processes', 'events' and 'handlers' of "
                    "MonitoringTools::toVariantMap(), with durations in nanoseconds. With "
                    "--prometheus, prints the same figures as metrics in the Prometheus text "
                    "format, as 'mvent metrics' serves them. 'entries' (entryCount) includes "
                    "expired keys not yet reclaimed, and 'attached processes' "
                    "(attachedProcesses) does not count this process."));
    QCommandLineParser &parser = commandLine.parser();
    parser.addPositionalArgument(QStringLiteral("POOL"), poolArgumentDescription());
    const QCommandLineOption prometheusOption(
            QStringLiteral("prometheus"),
            QStringLiteral("Print the metrics in the Prometheus text exposition format 0.0.4 "
                           "instead of a table."));
    parser.addOptions({ jsonOption(), prettyOption(), prometheusOption });
    if (const std::optional<int> exitCode = commandLine.parse(arguments, 1, 1)) {
        return *exitCode;
    }
    if (parser.isSet(jsonOption()) && parser.isSet(prometheusOption)) {
        return commandLine.usageError(
                QStringLiteral("--json and --prometheus cannot be combined; choose one"));
    }

    const std::unique_ptr<MonitoringTools> tools =
            openMonitoring(parser.positionalArguments().at(0));
    if (!tools) {
        return ExitFailure;
    }
    if (parser.isSet(prometheusOption)) {
        PoolMetrics metrics;
        metrics.addPool(*tools);
        writeOutput(prometheusText(metrics.collect()));
        return ExitSuccess;
    }

    const PoolStats stats = tools->memoryStats();
    if (parser.isSet(jsonOption())) {
        QVariantMap figures = stats.toVariantMap();
        const QVariantMap monitoring = tools->toVariantMap();
        for (const QString &key : { QStringLiteral("processes"), QStringLiteral("events"),
                                    QStringLiteral("handlers") }) {
            figures.insert(key, monitoring.value(key));
        }
        const QJsonObject object = QJsonObject::fromVariantMap(figures);
        writeOutput(documentText(QJsonDocument(object), parser.isSet(prettyOption())));
    } else {
        writeOutput(tableText(statsRows(stats)) + eventAndHandlerTables(*tools));
    }
    return ExitSuccess;
}

int runRm(const QStringList &arguments)
{
    CommandLine commandLine(
            QStringLiteral("rm"), QStringLiteral("POOL"),
            QStringLiteral("Removes a pool and its keys. Processes still attached to it are told "
                           "that it was destroyed. Also removes a pool too damaged to open."));
    commandLine.parser().addPositionalArgument(QStringLiteral("POOL"), poolArgumentDescription());
    if (const std::optional<int> exitCode = commandLine.parse(arguments, 1, 1)) {
        return *exitCode;
    }

    const QString poolName = commandLine.parser().positionalArguments().at(0);
    QString message;
    if (SharedMemoryPool::removePool(poolName, &message)) {
        return ExitSuccess;
    }
    // removePool() reports no error code, so a missing pool is recognized by pools(), which
    // lists the pool files.
    if (SharedMemoryPool::isValidName(poolName) && !SharedMemoryPool::pools().contains(poolName)) {
        message += missingPoolHint();
    }
    printError(message);
    return ExitFailure;
}

const QList<Command> &commands()
{
    static const QList<Command> list{
        { QStringLiteral("pools"),
          QStringLiteral("List the pools with size, keys, processes and status"), runPools },
        { QStringLiteral("keys"), QStringLiteral("Print the keys of a pool, sorted"), runKeys },
        { QStringLiteral("get"), QStringLiteral("Print the value of a key as JSON"), runGet },
        { QStringLiteral("set"), QStringLiteral("Store a JSON value or bytes under a key"),
          runSet },
        { QStringLiteral("del"), QStringLiteral("Remove a key"), runDel },
        { QStringLiteral("stats"),
          QStringLiteral("Print the figures of a pool as a table, JSON or Prometheus text"),
          runStats },
        { QStringLiteral("rm"), QStringLiteral("Remove a pool"), runRm },
        { QStringLiteral("emit"), QStringLiteral("Publish an event with a JSON value"), runEmit },
        { QStringLiteral("watch"), QStringLiteral("Print events as JSON lines as they arrive"),
          runWatch },
        { QStringLiteral("top"), QStringLiteral("Show a pool's figures, refreshed every second"),
          runTop },
        { QStringLiteral("metrics"),
          QStringLiteral("Serve the figures of pools over HTTP for Prometheus"), runMetrics },
    };
    return list;
}

const Command *findCommand(const QString &name)
{
    for (const Command &command : commands()) {
        if (command.name == name) {
            return &command;
        }
    }
    return nullptr;
}

QString globalHelpText()
{
    QString text =
            QStringLiteral("Usage: mvent COMMAND [options] [arguments]\n"
                           "\n"
                           "Lists, reads, writes and removes mvent shared-memory pools, and "
                           "publishes and\n"
                           "watches their events. The tool opens the file-backed pools in the "
                           "runtime\n"
                           "directory, which is $MVENT_RUNTIME_DIR if set, else "
                           "$XDG_RUNTIME_DIR/mvent,\n"
                           "else /dev/shm/mvent-UID (now: %1).\n"
                           "\n"
                           "Commands:\n")
                    .arg(SharedMemoryPool::runtimeDirectory());
    for (const Command &command : commands()) {
        text += QStringLiteral("  %1%2\n").arg(command.name.leftJustified(8), command.summary);
    }
    text += QStringLiteral(
            "\n"
            "Options:\n"
            "  -h, --help     Print this help and exit.\n"
            "  -v, --version  Print the version and exit.\n"
            "  --verbose      Also print the info and warning messages of the mvent library,\n"
            "                 such as pool creation and repairs. Without it the tool prints\n"
            "                 only its own messages and the library's critical ones.\n"
            "                 QT_LOGGING_RULES, such as 'mvent.*.warning=true', overrides\n"
            "                 this choice for the categories it names. Every command accepts\n"
            "                 --verbose too.\n"
            "\n"
            "Run 'mvent help COMMAND' or 'mvent COMMAND --help' for the options of a command.\n"
            "\n"
            "Exit status:\n"
            "  0  success\n"
            "  1  the operation failed: pool or key not found, invalid pool name, key or JSON\n"
            "     value, or a pool error; for 'metrics' also a --listen address that is not\n"
            "     loopback without --allow-remote, or a port that cannot be bound\n"
            "  2  the command line cannot be parsed: unknown command or option, wrong number\n"
            "     of arguments, or a malformed option value such as --ttl=soon\n");
    return text;
}

QString unknownCommand(const QString &name)
{
    return QStringLiteral("unknown command '%1'; run 'mvent --help' for the list of commands")
            .arg(name);
}

int runHelp(const QStringList &arguments)
{
    if (arguments.isEmpty()) {
        writeOutput(globalHelpText().toLocal8Bit());
        return ExitSuccess;
    }
    if (arguments.size() > 1) {
        return usageError(QStringLiteral("'help' expects at most one COMMAND but got %1 "
                                         "arguments; run 'mvent --help' for usage")
                                  .arg(arguments.size()));
    }
    const Command *command = findCommand(arguments.first());
    if (!command) {
        return usageError(unknownCommand(arguments.first()));
    }
    return command->run({ QStringLiteral("--help") });
}

} // namespace

int run(const QStringList &arguments)
{
    // Options before the command are the global ones. Everything from the command on goes
    // to that command's own parser.
    QCommandLineParser parser;
    parser.setOptionsAfterPositionalArgumentsMode(QCommandLineParser::ParseAsPositionalArguments);
    const QCommandLineOption helpOption({ QStringLiteral("h"), QStringLiteral("help") },
                                        QStringLiteral("Print this help and exit."));
    const QCommandLineOption versionOption({ QStringLiteral("v"), QStringLiteral("version") },
                                           QStringLiteral("Print the version and exit."));
    parser.addOptions({ helpOption, versionOption, verboseOption() });
    if (!parser.parse(arguments)) {
        const QStringList unknownOptions = typedUnknownOptions(parser, arguments.mid(1));
        const QString reason = unknownOptions.isEmpty() ? parserErrorReason(parser)
                                                        : unknownOptionsReason(unknownOptions);
        return usageError(QStringLiteral("%1; run 'mvent --help' for usage").arg(reason));
    }
    if (parser.isSet(helpOption)) {
        writeOutput(globalHelpText().toLocal8Bit());
        return ExitSuccess;
    }
    if (parser.isSet(versionOption)) {
        writeOutput(QByteArrayLiteral("mvent " MVENT_VERSION "\n"));
        return ExitSuccess;
    }
    if (parser.isSet(verboseOption())) {
        setLibraryLogging(true);
    }

    QStringList commandArguments = parser.positionalArguments();
    if (commandArguments.isEmpty()) {
        return usageError(QStringLiteral("missing COMMAND; run 'mvent --help' for the list of "
                                         "commands"));
    }
    const QString name = commandArguments.takeFirst();
    if (name == QLatin1String("help")) {
        return runHelp(commandArguments);
    }
    const Command *command = findCommand(name);
    if (!command) {
        return usageError(unknownCommand(name));
    }
    return command->run(commandArguments);
}

} // namespace mvent::cli
