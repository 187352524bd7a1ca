// SPDX-License-Identifier: MIT
#include <sharedmemorypool.h>

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <limits>
#include <memory>

using mvent::SharedMemoryPool;

namespace {

// Outcome of one run of the mvent tool.
struct Result
{
    int exitCode = -1; // -1 when the process crashed or did not finish
    QByteArray output;
    QByteArray errorOutput;
};

// Runs the mvent tool with \a arguments in \a environment, waiting up to 60 s.
Result runMventWith(const QProcessEnvironment &environment, const QStringList &arguments,
                    const QByteArray &input = QByteArray())
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.start(QStringLiteral(MVENT_HELPER_MVENT), arguments);
    Result result;
    if (!process.waitForStarted()) {
        result.errorOutput = process.errorString().toUtf8();
        return result;
    }
    process.write(input);
    process.closeWriteChannel();
    const bool finished = process.waitForFinished(60000);
    result.output = process.readAllStandardOutput();
    result.errorOutput = process.readAllStandardError();
    if (finished && process.exitStatus() == QProcess::NormalExit) {
        result.exitCode = process.exitCode();
    }
    return result;
}

// Runs the mvent tool with \a arguments and \a input on standard input, waiting up to 60 s.
Result runMvent(const QStringList &arguments, const QByteArray &input = QByteArray())
{
    // Read at start time so that the child inherits MVENT_RUNTIME_DIR from initTestCase().
    return runMventWith(QProcessEnvironment::systemEnvironment(), arguments, input);
}

// Returns the environment of this process with MVENT_RUNTIME_DIR set to \a runtimeDirectory
// and without QT_LOGGING_RULES, so that the tool's default logging applies.
QProcessEnvironment environmentFor(const QString &runtimeDirectory)
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("MVENT_RUNTIME_DIR"), runtimeDirectory);
    environment.remove(QStringLiteral("QT_LOGGING_RULES"));
    return environment;
}

// Returns the non-empty lines of \a text.
QList<QByteArray> nonEmptyLines(const QByteArray &text)
{
    QList<QByteArray> lines = text.split('\n');
    lines.removeAll(QByteArray());
    return lines;
}

QJsonDocument parseJson(const QByteArray &text)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(text, &error);
    if (error.error != QJsonParseError::NoError) {
        qWarning("invalid JSON at offset %d: %s in %s", error.offset,
                 qPrintable(error.errorString()), text.constData());
    }
    return document;
}

} // namespace

class tst_MventCli : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();

    void helpPrintsUsage_data();
    void helpPrintsUsage();
    void unknownCommandIsUsageError();
    void unknownOptionIsUsageError();
    void unknownOptionPrintedAsTyped_data();
    void unknownOptionPrintedAsTyped();
    void negativeValueHintRuns();
    void helpDescribesPoolName_data();
    void helpDescribesPoolName();
    void helpDocumentsExitStatus();
    void exitStatusFollowsRule_data();
    void exitStatusFollowsRule();
    void wrongArgumentCountIsUsageError_data();
    void wrongArgumentCountIsUsageError();
    void invalidOptionValueIsUsageError_data();
    void invalidOptionValueIsUsageError();

    void setThenGetRoundTrip_data();
    void setThenGetRoundTrip();
    void setStoresIntegerAsInteger();
    void setReadsStandardInput();
    void setRawStoresBytes();
    void setRawReadsStandardInput();
    void setCreatesPoolWithSize();
    void setInvalidJsonFails_data();
    void setInvalidJsonFails();
    void setInvalidJsonHintFitsText_data();
    void setInvalidJsonHintFitsText();
    void setRejectsOutOfRangeInteger_data();
    void setRejectsOutOfRangeInteger();
    void setKeepsNumbersAtLimits();
    void setSizeMessageNamesWorkingSize_data();
    void setSizeMessageNamesWorkingSize();
    void getReadsValueSetByLibrary();
    void getPrettyIndents();
    void getRawRejectsNonText();
    void getMissingKeyFails();
    void ttlValueReadableBeforeExpiry();
    void ttlValueExpires();

    void keysPrintsSortedKeys();
    void keysOfEmptyPoolPrintsNothing();
    void delRemovesKey();
    void delMissingKeyFails();

    void readMissingPoolFails_data();
    void readMissingPoolFails();
    void invalidPoolNameFails_data();
    void invalidPoolNameFails();
    void invalidPoolNameMessage_data();
    void invalidPoolNameMessage();

    void poolsListsPool();
    void poolsShowsBrokenPoolStatus();
    void rmBrokenPoolIsQuiet();
    void libraryWarningsHiddenByDefault();
    void poolsJsonCountsOtherProcesses();
    void statsJsonHasExpectedKeys();
    void statsPrintsTable();
    void rmRemovesPool();
    void rmMissingPoolFails();

    void runScriptNamesBadCommand_data();
    void runScriptNamesBadCommand();

private:
    QString uniquePoolName();
    QString poolFilePath(const QString &name) const;

    std::unique_ptr<QTemporaryDir> m_runtimeDir;
    QStringList m_pools;
    int m_counter = 0;
};

void tst_MventCli::initTestCase()
{
    QVERIFY2(QFile::exists(QStringLiteral(MVENT_HELPER_MVENT)), MVENT_HELPER_MVENT);
    if (qEnvironmentVariableIsEmpty("MVENT_RUNTIME_DIR")) {
        m_runtimeDir = std::make_unique<QTemporaryDir>();
        QVERIFY2(m_runtimeDir->isValid(), qPrintable(m_runtimeDir->errorString()));
        qputenv("MVENT_RUNTIME_DIR", QFile::encodeName(m_runtimeDir->path()));
    }
}

void tst_MventCli::cleanup()
{
    for (const QString &name : std::as_const(m_pools)) {
        SharedMemoryPool::removePool(name); // fails harmlessly for pools already removed
    }
    m_pools.clear();
}

QString tst_MventCli::uniquePoolName()
{
    const QString name =
            QStringLiteral("cli-%1-%2").arg(QCoreApplication::applicationPid()).arg(++m_counter);
    m_pools.append(name);
    return name;
}

QString tst_MventCli::poolFilePath(const QString &name) const
{
    return SharedMemoryPool::runtimeDirectory() + QLatin1Char('/') + name + QStringLiteral(".pool");
}

void tst_MventCli::helpPrintsUsage_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("usage");

    const QString global = QStringLiteral("Usage: mvent COMMAND");
    QTest::newRow("--help") << QStringList{ QStringLiteral("--help") } << global;
    QTest::newRow("-h") << QStringList{ QStringLiteral("-h") } << global;
    QTest::newRow("help") << QStringList{ QStringLiteral("help") } << global;

    const QStringList commands{ QStringLiteral("pools"), QStringLiteral("keys"),
                                QStringLiteral("get"),   QStringLiteral("set"),
                                QStringLiteral("del"),   QStringLiteral("stats"),
                                QStringLiteral("rm"),    QStringLiteral("emit"),
                                QStringLiteral("watch"), QStringLiteral("top"),
                                QStringLiteral("metrics") };
    for (const QString &command : commands) {
        const QString usage = QStringLiteral("Usage: mvent %1 [options]").arg(command);
        QTest::addRow("%s --help", qPrintable(command))
                << QStringList{ command, QStringLiteral("--help") } << usage;
        QTest::addRow("help %s", qPrintable(command))
                << QStringList{ QStringLiteral("help"), command } << usage;
    }
}

void tst_MventCli::helpPrintsUsage()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, usage);

    const Result result = runMvent(arguments);
    QCOMPARE(result.exitCode, 0);
    QVERIFY2(result.output.startsWith(usage.toUtf8()), result.output.constData());
    QVERIFY(result.output.endsWith('\n'));
    QCOMPARE(result.errorOutput, QByteArray());
}

void tst_MventCli::unknownCommandIsUsageError()
{
    const Result result = runMvent({ QStringLiteral("frobnicate") });
    QCOMPARE(result.exitCode, 2);
    QCOMPARE(result.output, QByteArray());
    QVERIFY2(result.errorOutput.startsWith("mvent: unknown command 'frobnicate'"),
             result.errorOutput.constData());
}

void tst_MventCli::unknownOptionIsUsageError()
{
    const Result result = runMvent({ QStringLiteral("get"), QStringLiteral("--bogus"),
                                     uniquePoolName(), QStringLiteral("key") });
    QCOMPARE(result.exitCode, 2);
    QVERIFY2(result.errorOutput.contains("'--bogus'"), result.errorOutput.constData());
    QVERIFY2(result.errorOutput.contains("mvent get --help"), result.errorOutput.constData());
}

void tst_MventCli::unknownOptionPrintedAsTyped_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("expected");

    QTest::newRow("negative value")
            << QStringList{ QStringLiteral("set"), QStringLiteral("sensors"), QStringLiteral("neg"),
                            QStringLiteral("-5") }
            << QStringLiteral("mvent: unknown option '-5'; to pass '-5' as an argument, put -- "
                              "before it and after any options, for example: mvent set sensors "
                              "neg -- -5\n");
    QTest::newRow("negative value, quoted example")
            << QStringList{ QStringLiteral("set"), QStringLiteral("sensors"),
                            QStringLiteral("a key"), QStringLiteral("-5") }
            << QStringLiteral("mvent: unknown option '-5'; to pass '-5' as an argument, put -- "
                              "before it and after any options, for example: mvent set sensors "
                              "'a key' -- -5\n");
    QTest::newRow("negative value before option")
            << QStringList{ QStringLiteral("set"), QStringLiteral("sensors"), QStringLiteral("k"),
                            QStringLiteral("-5"),  QStringLiteral("--ttl"),   QStringLiteral("5") }
            << QStringLiteral("mvent: unknown option '-5'; to pass '-5' as an argument, put -- "
                              "before it and after any options\n");
    QTest::newRow("long option")
            << QStringList{ QStringLiteral("set"), QStringLiteral("sensors"), QStringLiteral("k"),
                            QStringLiteral("1"),   QStringLiteral("--tll"),   QStringLiteral("5") }
            << QStringLiteral("mvent: unknown option '--tll'; run 'mvent set --help' for "
                              "usage\n");
    QTest::newRow("long option with value")
            << QStringList{ QStringLiteral("set"), QStringLiteral("--tll=5"),
                            QStringLiteral("sensors"), QStringLiteral("k"), QStringLiteral("1") }
            << QStringLiteral("mvent: unknown option '--tll'; run 'mvent set --help' for "
                              "usage\n");
    QTest::newRow("two long options")
            << QStringList{ QStringLiteral("get"), QStringLiteral("--a"), QStringLiteral("--b"),
                            QStringLiteral("p"), QStringLiteral("k") }
            << QStringLiteral("mvent: unknown options '--a', '--b'; run 'mvent get --help' for "
                              "usage\n");
    QTest::newRow("global option")
            << QStringList{ QStringLiteral("--bogus"), QStringLiteral("pools") }
            << QStringLiteral("mvent: unknown option '--bogus'; run 'mvent --help' for usage\n");
    QTest::newRow("global short option")
            << QStringList{ QStringLiteral("-x"), QStringLiteral("pools") }
            << QStringLiteral("mvent: unknown option '-x'; run 'mvent --help' for usage\n");
}

void tst_MventCli::unknownOptionPrintedAsTyped()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, expected);

    const Result result = runMvent(arguments);
    QCOMPARE(result.exitCode, 2);
    QCOMPARE(result.output, QByteArray());
    QCOMPARE(QString::fromUtf8(result.errorOutput), expected);
}

void tst_MventCli::negativeValueHintRuns()
{
    const QString pool = uniquePoolName();
    const Result rejected =
            runMvent({ QStringLiteral("set"), pool, QStringLiteral("neg"), QStringLiteral("-5") });
    QCOMPARE(rejected.exitCode, 2);
    QVERIFY(!QFile::exists(poolFilePath(pool)));

    // The example has no quoted arguments here, so splitting at spaces recovers them.
    const QByteArray marker = "for example: mvent ";
    const qsizetype start = rejected.errorOutput.indexOf(marker);
    QVERIFY2(start >= 0, rejected.errorOutput.constData());
    const QString example =
            QString::fromUtf8(rejected.errorOutput.mid(start + marker.size())).trimmed();
    const QStringList exampleArguments = example.split(QLatin1Char(' '));
    QCOMPARE(exampleArguments,
             (QStringList{ QStringLiteral("set"), pool, QStringLiteral("neg"), QStringLiteral("--"),
                           QStringLiteral("-5") }));

    const Result accepted = runMvent(exampleArguments);
    QCOMPARE(accepted.errorOutput, QByteArray());
    QCOMPARE(accepted.exitCode, 0);
    const Result get = runMvent({ QStringLiteral("get"), pool, QStringLiteral("neg") });
    QCOMPARE(get.exitCode, 0);
    QCOMPARE(get.output, QByteArray("-5\n"));
}

void tst_MventCli::helpDescribesPoolName_data()
{
    QTest::addColumn<QString>("command");

    for (const char *command : { "keys", "get", "set", "del", "stats", "rm", "emit", "watch", "top",
                                "metrics" }) {
        QTest::newRow(command) << QString::fromLatin1(command);
    }
}

void tst_MventCli::helpDescribesPoolName()
{
    QFETCH(QString, command);

    const Result result = runMvent({ command, QStringLiteral("--help") });
    QCOMPARE(result.exitCode, 0);
    // QCommandLineParser wraps the description, so whitespace is compared loosely.
    const QByteArray help = result.output.simplified();
    QVERIFY2(help.contains("POOL Pool name: 1 to 64 of the characters A-Z a-z 0-9 . _ -, not "
                           "starting with '.'."),
             result.output.constData());
}

void tst_MventCli::helpDocumentsExitStatus()
{
    const Result result = runMvent({ QStringLiteral("--help") });
    QCOMPARE(result.exitCode, 0);
    const QByteArray help = result.output.simplified();
    QVERIFY2(help.contains("Exit status: 0 success"), result.output.constData());
    QVERIFY2(help.contains("1 the operation failed: pool or key not found, invalid pool name, "
                           "key or JSON value, or a pool error"),
             result.output.constData());
    QVERIFY2(help.contains("2 the command line cannot be parsed: unknown command or option, "
                           "wrong number of arguments, or a malformed option value"),
             result.output.constData());
}

void tst_MventCli::exitStatusFollowsRule_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<int>("exitCode");

    // "POOL" is replaced with a fresh pool name.
    const QString pool = QStringLiteral("POOL");
    const QString set = QStringLiteral("set");
    const QString emit = QStringLiteral("emit");
    const QString key = QStringLiteral("k");
    const QString value = QStringLiteral("1");

    QTest::newRow("invalid pool name")
            << QStringList{ set, QStringLiteral(".hidden"), key, value } << 1;
    QTest::newRow("invalid key") << QStringList{ set, pool, QString(), value } << 1;
    QTest::newRow("malformed JSON") << QStringList{ set, pool, key, QStringLiteral("{a: 1}") } << 1;
    QTest::newRow("emit invalid pool name")
            << QStringList{ emit, QStringLiteral("bad/name"), QStringLiteral("e"), value } << 1;
    QTest::newRow("emit malformed JSON")
            << QStringList{ emit, pool, QStringLiteral("e"), QStringLiteral("[1,") } << 1;
    QTest::newRow("watch invalid pool name")
            << QStringList{ QStringLiteral("watch"), QStringLiteral(".x") } << 1;
    QTest::newRow("missing pool") << QStringList{ QStringLiteral("get"), pool, key } << 1;

    QTest::newRow("malformed --size")
            << QStringList{ set, QStringLiteral("--size=big"), pool, key, value } << 2;
    QTest::newRow("malformed --ttl")
            << QStringList{ set, QStringLiteral("--ttl=soon"), pool, key, value } << 2;
    QTest::newRow("emit malformed --ttl")
            << QStringList{ emit, QStringLiteral("--ttl=-1"), pool, QStringLiteral("e"), value }
            << 2;
    QTest::newRow("watch malformed --count")
            << QStringList{ QStringLiteral("watch"), QStringLiteral("--count=0"), pool } << 2;
    QTest::newRow("missing option value")
            << QStringList{ set, pool, key, value, QStringLiteral("--ttl") } << 2;
    QTest::newRow("unknown option") << QStringList{ set, pool, key, QStringLiteral("-5") } << 2;
    QTest::newRow("wrong argument count") << QStringList{ set, pool, key } << 2;
    QTest::newRow("unknown command")
            << QStringList{ QStringLiteral("sett"), pool, key, value } << 2;
}

void tst_MventCli::exitStatusFollowsRule()
{
    QFETCH(QStringList, arguments);
    QFETCH(int, exitCode);

    const QString pool = uniquePoolName();
    arguments.replaceInStrings(QRegularExpression(QStringLiteral("^POOL$")), pool);
    const Result result = runMvent(arguments);
    QCOMPARE(result.exitCode, exitCode);
    QCOMPARE(result.output, QByteArray());
    QVERIFY2(result.errorOutput.startsWith("mvent: "), result.errorOutput.constData());
}

void tst_MventCli::wrongArgumentCountIsUsageError_data()
{
    QTest::addColumn<QStringList>("arguments");

    QTest::newRow("no command") << QStringList();
    QTest::newRow("pools extra") << QStringList{ QStringLiteral("pools"), QStringLiteral("x") };
    QTest::newRow("keys") << QStringList{ QStringLiteral("keys") };
    QTest::newRow("get pool") << QStringList{ QStringLiteral("get"), QStringLiteral("p") };
    QTest::newRow("get extra") << QStringList{ QStringLiteral("get"), QStringLiteral("p"),
                                               QStringLiteral("k"), QStringLiteral("x") };
    QTest::newRow("set pool key") << QStringList{ QStringLiteral("set"), QStringLiteral("p"),
                                                  QStringLiteral("k") };
    QTest::newRow("del pool") << QStringList{ QStringLiteral("del"), QStringLiteral("p") };
    QTest::newRow("stats") << QStringList{ QStringLiteral("stats") };
    QTest::newRow("rm") << QStringList{ QStringLiteral("rm") };
    QTest::newRow("help two") << QStringList{ QStringLiteral("help"), QStringLiteral("get"),
                                              QStringLiteral("set") };
    QTest::newRow("help unknown") << QStringList{ QStringLiteral("help"), QStringLiteral("x") };
}

void tst_MventCli::wrongArgumentCountIsUsageError()
{
    QFETCH(QStringList, arguments);

    const Result result = runMvent(arguments);
    QCOMPARE(result.exitCode, 2);
    QCOMPARE(result.output, QByteArray());
    QVERIFY2(result.errorOutput.startsWith("mvent: "), result.errorOutput.constData());
}

void tst_MventCli::invalidOptionValueIsUsageError_data()
{
    QTest::addColumn<QString>("option");

    QTest::newRow("ttl text") << QStringLiteral("--ttl=soon");
    QTest::newRow("ttl negative") << QStringLiteral("--ttl=-5");
    QTest::newRow("size zero") << QStringLiteral("--size=0");
    QTest::newRow("size text") << QStringLiteral("--size=big");
}

void tst_MventCli::invalidOptionValueIsUsageError()
{
    QFETCH(QString, option);

    const QString pool = uniquePoolName();
    const Result result = runMvent(
            { QStringLiteral("set"), option, pool, QStringLiteral("k"), QStringLiteral("1") });
    QCOMPARE(result.exitCode, 2);
    const QByteArray value = option.section(QLatin1Char('='), 1).toUtf8();
    QVERIFY2(result.errorOutput.contains("'" + value + "'"), result.errorOutput.constData());
    QVERIFY(!QFile::exists(poolFilePath(pool)));
}

void tst_MventCli::setThenGetRoundTrip_data()
{
    QTest::addColumn<QString>("json");
    QTest::addColumn<QByteArray>("expected");

    QTest::newRow("object") << QStringLiteral(R"({"b": 2, "a": "x"})")
                            << QByteArray(R"({"a":"x","b":2})");
    QTest::newRow("empty object") << QStringLiteral("{}") << QByteArray("{}");
    QTest::newRow("array") << QStringLiteral("[1, \"two\", 3.5, false, null]")
                           << QByteArray(R"([1,"two",3.5,false,null])");
    QTest::newRow("empty array") << QStringLiteral("[]") << QByteArray("[]");
    QTest::newRow("string") << QStringLiteral(R"("hello world")") << QByteArray(R"("hello world")");
    QTest::newRow("empty string") << QStringLiteral(R"("")") << QByteArray(R"("")");
    QTest::newRow("integer") << QStringLiteral("42") << QByteArray("42");
    QTest::newRow("zero") << QStringLiteral("0") << QByteArray("0");
    QTest::newRow("large integer")
            << QStringLiteral("9007199254740993") << QByteArray("9007199254740993");
    QTest::newRow("float") << QStringLiteral("3.25") << QByteArray("3.25");
    QTest::newRow("exponent") << QStringLiteral("1.5e-7") << QByteArray("1.5e-07");
    QTest::newRow("true") << QStringLiteral("true") << QByteArray("true");
    QTest::newRow("false") << QStringLiteral("false") << QByteArray("false");
    QTest::newRow("null") << QStringLiteral("null") << QByteArray("null");
    QTest::newRow("whitespace") << QStringLiteral("  \n 7 \t") << QByteArray("7");
    QTest::newRow("nested") << QStringLiteral(R"({"a": {"b": [1, {"c": [true, null]}]}})")
                            << QByteArray(R"({"a":{"b":[1,{"c":[true,null]}]}})");
    QTest::newRow("unicode") << QStringLiteral(R"({"grüße": "日本語 ✓ \ud83d\ude00"})")
                             << QStringLiteral(u"{\"grüße\":\"日本語 ✓ \U0001F600\"}").toUtf8();
    QTest::newRow("escapes") << QStringLiteral(R"("tab\there \"quoted\" back\\slash")")
                             << QByteArray(R"("tab\there \"quoted\" back\\slash")");
}

void tst_MventCli::setThenGetRoundTrip()
{
    QFETCH(QString, json);
    QFETCH(QByteArray, expected);

    const QString pool = uniquePoolName();
    const Result set = runMvent({ QStringLiteral("set"), pool, QStringLiteral("key"), json });
    QCOMPARE(set.errorOutput, QByteArray());
    QCOMPARE(set.exitCode, 0);

    const Result get = runMvent({ QStringLiteral("get"), pool, QStringLiteral("key") });
    QCOMPARE(get.errorOutput, QByteArray());
    QCOMPARE(get.exitCode, 0);
    QCOMPARE(get.output, expected + '\n');
}

void tst_MventCli::setStoresIntegerAsInteger()
{
    const QString pool = uniquePoolName();
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("count"), QStringLiteral("--"),
                        QStringLiteral("-17") })
                     .exitCode,
             0);
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("ratio"),
                        QStringLiteral("0.5") })
                     .exitCode,
             0);
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("list"),
                        QStringLiteral("[1, 2]") })
                     .exitCode,
             0);

    const SharedMemoryPool reader(pool);
    QVERIFY2(reader.isAttached(), qPrintable(reader.errorString()));
    const QVariant count = reader.value(QStringLiteral("count"));
    QCOMPARE(count.metaType(), QMetaType::fromType<qint64>());
    QCOMPARE(count.toLongLong(), -17);
    const QVariant ratio = reader.value(QStringLiteral("ratio"));
    QCOMPARE(ratio.metaType(), QMetaType::fromType<double>());
    QCOMPARE(ratio.toDouble(), 0.5);
    const QVariantList list = reader.value(QStringLiteral("list")).toList();
    QCOMPARE(list.size(), 2);
    QCOMPARE(list.at(0).metaType(), QMetaType::fromType<qint64>());
}

void tst_MventCli::setReadsStandardInput()
{
    const QString pool = uniquePoolName();
    const Result set =
            runMvent({ QStringLiteral("set"), pool, QStringLiteral("doc"), QStringLiteral("-") },
                     QByteArray("{\"list\": [1, 2, 3]}\n"));
    QCOMPARE(set.errorOutput, QByteArray());
    QCOMPARE(set.exitCode, 0);

    const Result get = runMvent({ QStringLiteral("get"), pool, QStringLiteral("doc") });
    QCOMPARE(get.exitCode, 0);
    QCOMPARE(get.output, QByteArray("{\"list\":[1,2,3]}\n"));
}

void tst_MventCli::setRawStoresBytes()
{
    const QString pool = uniquePoolName();
    const QString text = QStringLiteral(u"not json: ü");
    const Result set = runMvent(
            { QStringLiteral("set"), QStringLiteral("--raw"), pool, QStringLiteral("blob"), text });
    QCOMPARE(set.errorOutput, QByteArray());
    QCOMPARE(set.exitCode, 0);

    const SharedMemoryPool reader(pool);
    QVERIFY2(reader.isAttached(), qPrintable(reader.errorString()));
    const QVariant stored = reader.value(QStringLiteral("blob"));
    QCOMPARE(stored.metaType(), QMetaType::fromType<QByteArray>());
    QCOMPARE(stored.toByteArray(), text.toUtf8());

    const Result json = runMvent({ QStringLiteral("get"), pool, QStringLiteral("blob") });
    QCOMPARE(json.exitCode, 0);
    const QByteArray base64 =
            text.toUtf8().toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
    QCOMPARE(json.output, '"' + base64 + "\"\n");

    const Result raw = runMvent(
            { QStringLiteral("get"), QStringLiteral("--raw"), pool, QStringLiteral("blob") });
    QCOMPARE(raw.exitCode, 0);
    QCOMPARE(raw.output, text.toUtf8());
}

void tst_MventCli::setRawReadsStandardInput()
{
    const QString pool = uniquePoolName();
    const QByteArray bytes("\x00\x01\xff binary\n", 11);
    const Result set = runMvent({ QStringLiteral("set"), QStringLiteral("--raw"), pool,
                                  QStringLiteral("blob"), QStringLiteral("-") },
                                bytes);
    QCOMPARE(set.exitCode, 0);

    const Result raw = runMvent(
            { QStringLiteral("get"), QStringLiteral("--raw"), pool, QStringLiteral("blob") });
    QCOMPARE(raw.exitCode, 0);
    QCOMPARE(raw.output, bytes);
}

void tst_MventCli::setCreatesPoolWithSize()
{
    const QString pool = uniquePoolName();
    const qint64 size = 2 * 1024 * 1024;
    QVERIFY(!QFile::exists(poolFilePath(pool)));
    const Result set =
            runMvent({ QStringLiteral("set"), QStringLiteral("--size"), QString::number(size), pool,
                       QStringLiteral("k"), QStringLiteral("1") });
    QCOMPARE(set.errorOutput, QByteArray());
    QCOMPARE(set.exitCode, 0);
    QVERIFY(QFile::exists(poolFilePath(pool)));

    const Result stats = runMvent({ QStringLiteral("stats"), QStringLiteral("--json"), pool });
    QCOMPARE(stats.exitCode, 0);
    QCOMPARE(parseJson(stats.output).object().value(QStringLiteral("totalSize")).toInteger(), size);
}

void tst_MventCli::setInvalidJsonFails_data()
{
    QTest::addColumn<QString>("json");
    QTest::addColumn<QByteArray>("reason");

    QTest::newRow("bare word") << QStringLiteral("hello") << QByteArray("byte offset 0");
    QTest::newRow("missing value") << QStringLiteral(R"({"a":})") << QByteArray("byte offset");
    QTest::newRow("unterminated") << QStringLiteral(R"({"a": 1)") << QByteArray("byte offset");
    QTest::newRow("two values") << QStringLiteral("1, 2") << QByteArray("2 comma-separated");
    QTest::newRow("empty") << QString() << QByteArray("no JSON value");
    QTest::newRow("closing bracket") << QStringLiteral("1], [2") << QByteArray("byte offset");
}

void tst_MventCli::setInvalidJsonFails()
{
    QFETCH(QString, json);
    QFETCH(QByteArray, reason);

    const QString pool = uniquePoolName();
    const Result result = runMvent({ QStringLiteral("set"), pool, QStringLiteral("key"), json });
    QCOMPARE(result.exitCode, 1);
    QVERIFY2(result.errorOutput.startsWith("mvent: invalid JSON value for key 'key'"),
             result.errorOutput.constData());
    QVERIFY2(result.errorOutput.contains(reason), result.errorOutput.constData());
    QVERIFY2(!QFile::exists(poolFilePath(pool)), "invalid JSON must not create the pool");
}

void tst_MventCli::setInvalidJsonHintFitsText_data()
{
    QTest::addColumn<QString>("json");
    QTest::addColumn<QByteArray>("hint");

    const QByteArray objectHint =
            "; object keys must be double-quoted strings, as in '{\"max\": 42}'\n";
    const QByteArray stringHint =
            "; quote a string as '\"text\"', or store the text as bytes with --raw\n";
    QTest::newRow("unquoted key") << QStringLiteral("{max: 42}") << objectHint;
    QTest::newRow("object after space") << QStringLiteral(" \n{max: 42}") << objectHint;
    QTest::newRow("unterminated object") << QStringLiteral(R"({"a": 1)") << objectHint;
    QTest::newRow("unterminated array") << QStringLiteral("[1, 2") << QByteArray("byte offset 5\n");
    QTest::newRow("unquoted string in array")
            << QStringLiteral("[a]") << QByteArray("byte offset 1\n");
    QTest::newRow("bare word") << QStringLiteral("hello") << stringHint;
    QTest::newRow("empty") << QString() << stringHint;
}

void tst_MventCli::setInvalidJsonHintFitsText()
{
    QFETCH(QString, json);
    QFETCH(QByteArray, hint);

    const QString pool = uniquePoolName();
    const Result result = runMvent({ QStringLiteral("set"), pool, QStringLiteral("key"), json });
    QCOMPARE(result.exitCode, 1);
    QVERIFY2(result.errorOutput.startsWith("mvent: invalid JSON value for key 'key': "),
             result.errorOutput.constData());
    QVERIFY2(result.errorOutput.endsWith(hint), result.errorOutput.constData());
    // An object or array gets no advice about quoting a string or about --raw.
    const bool stringLike = !json.trimmed().startsWith(QLatin1Char('{'))
            && !json.trimmed().startsWith(QLatin1Char('['));
    QCOMPARE(result.errorOutput.contains("quote a string"), stringLike);
    QCOMPARE(result.errorOutput.contains("--raw"), stringLike);
}

void tst_MventCli::setRejectsOutOfRangeInteger_data()
{
    QTest::addColumn<QString>("json");
    QTest::addColumn<QByteArray>("integer");

    QTest::newRow("2^64") << QStringLiteral("18446744073709551616")
                          << QByteArray("18446744073709551616");
    QTest::newRow("2^63") << QStringLiteral("9223372036854775808")
                          << QByteArray("9223372036854775808");
    QTest::newRow("below minimum")
            << QStringLiteral("-9223372036854775809") << QByteArray("-9223372036854775809");
    QTest::newRow("nested") << QStringLiteral(R"([1, {"a": 99999999999999999999}])")
                            << QByteArray("99999999999999999999");
}

void tst_MventCli::setRejectsOutOfRangeInteger()
{
    QFETCH(QString, json);
    QFETCH(QByteArray, integer);

    const QString pool = uniquePoolName();
    const Result result = runMvent(
            { QStringLiteral("set"), pool, QStringLiteral("big"), QStringLiteral("--"), json });
    QCOMPARE(result.exitCode, 1);
    QCOMPARE(result.output, QByteArray());
    QVERIFY2(result.errorOutput.startsWith("mvent: integer " + integer
                                           + " in the value for key "
                                             "'big' is outside the qint64 range"),
             result.errorOutput.constData());
    QVERIFY2(result.errorOutput.contains("'\"" + integer + "\"'"), result.errorOutput.constData());
    QCOMPARE(nonEmptyLines(result.errorOutput).size(), 1);
    // The value is checked before the pool is opened.
    QVERIFY(!QFile::exists(poolFilePath(pool)));
}

void tst_MventCli::setKeepsNumbersAtLimits()
{
    const QString pool = uniquePoolName();
    const QStringList values{ QStringLiteral("9223372036854775807"),
                              QStringLiteral("-9223372036854775808"),
                              QStringLiteral("18446744073709551616.0"),
                              QStringLiteral(R"("99999999999999999999")"),
                              QStringLiteral(R"({"99999999999999999999": 1})") };
    for (int i = 0; i < values.size(); ++i) {
        const Result set = runMvent({ QStringLiteral("set"), pool, QStringLiteral("k%1").arg(i),
                                      QStringLiteral("--"), values.at(i) });
        QVERIFY2(set.exitCode == 0, set.errorOutput.constData());
    }

    const SharedMemoryPool reader(pool);
    QVERIFY2(reader.isAttached(), qPrintable(reader.errorString()));
    const QVariant maximum = reader.value(QStringLiteral("k0"));
    QCOMPARE(maximum.metaType(), QMetaType::fromType<qint64>());
    QCOMPARE(maximum.toLongLong(), std::numeric_limits<qint64>::max());
    const QVariant minimum = reader.value(QStringLiteral("k1"));
    QCOMPARE(minimum.metaType(), QMetaType::fromType<qint64>());
    QCOMPARE(minimum.toLongLong(), std::numeric_limits<qint64>::min());
    const QVariant rounded = reader.value(QStringLiteral("k2"));
    QCOMPARE(rounded.metaType(), QMetaType::fromType<double>());
    QCOMPARE(rounded.toDouble(), 18446744073709551616.0);
    QCOMPARE(reader.value(QStringLiteral("k3")).toString(), QStringLiteral("99999999999999999999"));
    QCOMPARE(reader.value(QStringLiteral("k4"))
                     .toMap()
                     .value(QStringLiteral("99999999999999999999")),
             QVariant(qint64(1)));
}

void tst_MventCli::setSizeMessageNamesWorkingSize_data()
{
    QTest::addColumn<qint64>("size");

    QTest::newRow("1 byte") << qint64(1);
    QTest::newRow("64 KiB") << qint64(64 * 1024);
    QTest::newRow("100000 bytes") << qint64(100000);
}

void tst_MventCli::setSizeMessageNamesWorkingSize()
{
    QFETCH(qint64, size);

    const QString pool = uniquePoolName();
    const Result tooSmall =
            runMvent({ QStringLiteral("set"), QStringLiteral("--size"), QString::number(size), pool,
                       QStringLiteral("k"), QStringLiteral("1") });
    QCOMPARE(tooSmall.exitCode, 1);
    QCOMPARE(nonEmptyLines(tooSmall.errorOutput).size(), 1);
    QVERIFY(!QFile::exists(poolFilePath(pool)));
    static const QRegularExpression sizePattern(
            QStringLiteral("(?:at least|minimum of|minimum for these options is) (\\d+) bytes"));
    const QRegularExpressionMatch match =
            sizePattern.match(QString::fromUtf8(tooSmall.errorOutput));
    QVERIFY2(match.hasMatch(), tooSmall.errorOutput.constData());
    const QString namedSize = match.captured(1);
    QVERIFY2(namedSize.toLongLong() > size, tooSmall.errorOutput.constData());

    const Result retry = runMvent({ QStringLiteral("set"), QStringLiteral("--size"), namedSize,
                                    pool, QStringLiteral("k"), QStringLiteral("1") });
    QVERIFY2(retry.exitCode == 0,
             qPrintable(QStringLiteral("--size %1 named by '%2' failed: %3")
                                .arg(namedSize, QString::fromUtf8(tooSmall.errorOutput.trimmed()),
                                     QString::fromUtf8(retry.errorOutput.trimmed()))));
    QVERIFY(QFile::exists(poolFilePath(pool)));
}

void tst_MventCli::getReadsValueSetByLibrary()
{
    const QString pool = uniquePoolName();
    SharedMemoryPool writer(pool);
    QVERIFY2(writer.isAttached(), qPrintable(writer.errorString()));
    const QVariantMap value{ { QStringLiteral("id"), 7 },
                             { QStringLiteral("tags"), QStringList{ QStringLiteral("a") } } };
    QVERIFY2(writer.set(QStringLiteral("record"), value), qPrintable(writer.errorString()));

    const Result get = runMvent({ QStringLiteral("get"), pool, QStringLiteral("record") });
    QCOMPARE(get.exitCode, 0);
    QCOMPARE(get.output,
             QByteArray(R"({"id":7,"tags":["a"]})"
                        "\n"));
}

void tst_MventCli::getPrettyIndents()
{
    const QString pool = uniquePoolName();
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("k"),
                        QStringLiteral(R"({"a": [1]})") })
                     .exitCode,
             0);

    const Result get = runMvent(
            { QStringLiteral("get"), QStringLiteral("--pretty"), pool, QStringLiteral("k") });
    QCOMPARE(get.exitCode, 0);
    QCOMPARE(get.output, QByteArray("{\n    \"a\": [\n        1\n    ]\n}\n"));
}

void tst_MventCli::getRawRejectsNonText()
{
    const QString pool = uniquePoolName();
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("n"), QStringLiteral("5") })
                     .exitCode,
             0);

    const Result raw =
            runMvent({ QStringLiteral("get"), QStringLiteral("--raw"), pool, QStringLiteral("n") });
    QCOMPARE(raw.exitCode, 1);
    QCOMPARE(raw.output, QByteArray());
    QVERIFY2(raw.errorOutput.contains("omit --raw"), raw.errorOutput.constData());
}

void tst_MventCli::getMissingKeyFails()
{
    const QString pool = uniquePoolName();
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("other"), QStringLiteral("1") })
                     .exitCode,
             0);

    const Result get = runMvent({ QStringLiteral("get"), pool, QStringLiteral("absent") });
    QCOMPARE(get.exitCode, 1);
    QCOMPARE(get.output, QByteArray());
    QCOMPARE(get.errorOutput,
             QStringLiteral("mvent: key 'absent' not found in pool '%1'\n").arg(pool).toUtf8());
}

void tst_MventCli::ttlValueReadableBeforeExpiry()
{
    const QString pool = uniquePoolName();
    // The TTL of ten minutes only has to outlast the two runs below.
    QCOMPARE(runMvent({ QStringLiteral("set"), QStringLiteral("--ttl"), QStringLiteral("600000"),
                        pool, QStringLiteral("k"), QStringLiteral("\"v\"") })
                     .exitCode,
             0);

    const Result get = runMvent({ QStringLiteral("get"), pool, QStringLiteral("k") });
    QCOMPARE(get.exitCode, 0);
    QCOMPARE(get.output, QByteArray("\"v\"\n"));
}

void tst_MventCli::ttlValueExpires()
{
    const QString pool = uniquePoolName();
    const Result set =
            runMvent({ QStringLiteral("set"), QStringLiteral("--ttl"), QStringLiteral("100"), pool,
                       QStringLiteral("k"), QStringLiteral("1") });
    QCOMPARE(set.errorOutput, QByteArray());
    QCOMPARE(set.exitCode, 0);
    // A key that never got stored would also be missing, so the pool must hold other keys.
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("stays"), QStringLiteral("2") })
                     .exitCode,
             0);

    QTRY_COMPARE_WITH_TIMEOUT(
            runMvent({ QStringLiteral("get"), pool, QStringLiteral("k") }).exitCode, 1, 30000);
    const Result keys = runMvent({ QStringLiteral("keys"), pool });
    QCOMPARE(keys.exitCode, 0);
    QCOMPARE(keys.output, QByteArray("stays\n"));
}

void tst_MventCli::keysPrintsSortedKeys()
{
    const QString pool = uniquePoolName();
    for (const char *key : { "banana", "apple", "cherry", "Zebra" }) {
        QCOMPARE(runMvent({ QStringLiteral("set"), pool, QLatin1String(key), QStringLiteral("1") })
                         .exitCode,
                 0);
    }

    const Result keys = runMvent({ QStringLiteral("keys"), pool });
    QCOMPARE(keys.errorOutput, QByteArray());
    QCOMPARE(keys.exitCode, 0);
    QCOMPARE(keys.output, QByteArray("Zebra\napple\nbanana\ncherry\n"));
}

void tst_MventCli::keysOfEmptyPoolPrintsNothing()
{
    const QString pool = uniquePoolName();
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("k"), QStringLiteral("1") })
                     .exitCode,
             0);
    QCOMPARE(runMvent({ QStringLiteral("del"), pool, QStringLiteral("k") }).exitCode, 0);

    const Result keys = runMvent({ QStringLiteral("keys"), pool });
    QCOMPARE(keys.exitCode, 0);
    QCOMPARE(keys.output, QByteArray());
}

void tst_MventCli::delRemovesKey()
{
    const QString pool = uniquePoolName();
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("k"), QStringLiteral("1") })
                     .exitCode,
             0);

    const Result del = runMvent({ QStringLiteral("del"), pool, QStringLiteral("k") });
    QCOMPARE(del.errorOutput, QByteArray());
    QCOMPARE(del.exitCode, 0);
    QCOMPARE(runMvent({ QStringLiteral("get"), pool, QStringLiteral("k") }).exitCode, 1);
}

void tst_MventCli::delMissingKeyFails()
{
    const QString pool = uniquePoolName();
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("k"), QStringLiteral("1") })
                     .exitCode,
             0);

    const Result del = runMvent({ QStringLiteral("del"), pool, QStringLiteral("K") });
    QCOMPARE(del.exitCode, 1);
    QCOMPARE(del.errorOutput,
             QStringLiteral("mvent: key 'K' not found in pool '%1'\n").arg(pool).toUtf8());
}

void tst_MventCli::readMissingPoolFails_data()
{
    QTest::addColumn<QStringList>("arguments");

    QTest::newRow("get") << QStringList{ QStringLiteral("get"), QStringLiteral("k") };
    QTest::newRow("keys") << QStringList{ QStringLiteral("keys") };
    QTest::newRow("del") << QStringList{ QStringLiteral("del"), QStringLiteral("k") };
    QTest::newRow("stats") << QStringList{ QStringLiteral("stats") };
}

void tst_MventCli::readMissingPoolFails()
{
    QFETCH(QStringList, arguments);

    const QString pool = uniquePoolName();
    arguments.insert(1, pool);
    const Result result = runMvent(arguments);
    QCOMPARE(result.exitCode, 1);
    QCOMPARE(result.output, QByteArray());
    const QByteArray expected = "mvent: pool '" + pool.toUtf8() + "' does not exist";
    QVERIFY2(result.errorOutput.startsWith(expected), result.errorOutput.constData());
    QVERIFY2(!QFile::exists(poolFilePath(pool)), "a read must not create the pool");
    QVERIFY(!SharedMemoryPool::pools().contains(pool));
}

void tst_MventCli::invalidPoolNameFails_data()
{
    QTest::addColumn<QStringList>("arguments");

    const QString name = QStringLiteral("bad/name");
    QTest::newRow("get") << QStringList{ QStringLiteral("get"), name, QStringLiteral("k") };
    QTest::newRow("set") << QStringList{ QStringLiteral("set"), name, QStringLiteral("k"),
                                         QStringLiteral("1") };
    QTest::newRow("keys") << QStringList{ QStringLiteral("keys"), name };
    QTest::newRow("del") << QStringList{ QStringLiteral("del"), name, QStringLiteral("k") };
    QTest::newRow("stats") << QStringList{ QStringLiteral("stats"), name };
    QTest::newRow("rm") << QStringList{ QStringLiteral("rm"), name };
}

void tst_MventCli::invalidPoolNameFails()
{
    QFETCH(QStringList, arguments);

    const Result result = runMvent(arguments);
    QCOMPARE(result.exitCode, 1);
    QVERIFY2(result.errorOutput.startsWith("mvent: "), result.errorOutput.constData());
    QVERIFY2(result.errorOutput.contains("'bad/name'"), result.errorOutput.constData());
}

void tst_MventCli::invalidPoolNameMessage_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("expected");

    QTest::newRow("leading dot")
            << QStringLiteral(".hidden")
            << QStringLiteral("mvent: pool name '.hidden' starts with '.'; start it with a "
                              "letter, a digit, '_' or '-'\n");

    // Each row names the invalid pool name and the character as the message should show it.
    const QList<std::pair<QString, QString>> characters{
        { QStringLiteral("bad/name"), QStringLiteral("'/'") },
        { QStringLiteral("a b"), QStringLiteral("' '") },
        { QStringLiteral("it's"), QStringLiteral("\"'\"") },
        { QStringLiteral("a\tb"), QStringLiteral("U+0009") },
        { QStringLiteral(u"p\u00f6ol"), QStringLiteral("U+00F6") },
        { QStringLiteral(u"x\U0001F600"), QStringLiteral("U+1F600") },
    };
    for (const auto &[name, character] : characters) {
        QTest::addRow("%s", qPrintable(character))
                << name
                << QStringLiteral("mvent: pool name '%1' contains the character %2; use only ASCII "
                                  "letters, digits, '.', '_' and '-'\n")
                           .arg(name, character);
    }
}

void tst_MventCli::invalidPoolNameMessage()
{
    QFETCH(QString, name);
    QFETCH(QString, expected);

    // '-' and '_' are allowed first, so the hint about '.' names them.
    QVERIFY(SharedMemoryPool::isValidName(QStringLiteral("-a")));
    QVERIFY(SharedMemoryPool::isValidName(QStringLiteral("_a")));

    const Result result = runMvent({ QStringLiteral("keys"), name });
    QCOMPARE(result.exitCode, 1);
    QCOMPARE(QString::fromUtf8(result.errorOutput), expected);
}

void tst_MventCli::poolsListsPool()
{
    const QString pool = uniquePoolName();
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("a"), QStringLiteral("1") })
                     .exitCode,
             0);
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("b"), QStringLiteral("2") })
                     .exitCode,
             0);

    const Result table = runMvent({ QStringLiteral("pools") });
    QCOMPARE(table.exitCode, 0);
    QVERIFY2(table.output.startsWith("NAME"), table.output.constData());
    bool listed = false;
    for (const QByteArray &line : table.output.split('\n')) {
        const QList<QByteArray> cells = line.simplified().split(' ');
        if (cells.first() == pool.toUtf8()) {
            listed = true;
            QCOMPARE(cells.size(), 5);
            QCOMPARE(cells.at(2), QByteArray("2"));
            QCOMPARE(cells.at(4), QByteArray("ok"));
        }
    }
    QVERIFY2(listed, table.output.constData());

    const Result json = runMvent({ QStringLiteral("pools"), QStringLiteral("--json") });
    QCOMPARE(json.exitCode, 0);
    const QJsonDocument document = parseJson(json.output);
    QVERIFY(document.isArray());
    QJsonObject entry;
    for (const QJsonValue &value : document.array()) {
        if (value.toObject().value(QStringLiteral("name")).toString() == pool) {
            entry = value.toObject();
        }
    }
    QVERIFY2(!entry.isEmpty(), json.output.constData());
    QCOMPARE(entry.value(QStringLiteral("keyCount")).toInteger(), 2);
    QVERIFY(entry.value(QStringLiteral("totalSize")).toInteger() > 0);
    QCOMPARE(entry.value(QStringLiteral("attachedProcesses")).toInteger(), 0);
    QCOMPARE(entry.value(QStringLiteral("status")).toString(), QStringLiteral("ok"));
    QVERIFY(!entry.contains(QStringLiteral("error")));
}

void tst_MventCli::poolsShowsBrokenPoolStatus()
{
    // A private runtime directory keeps the broken files away from tests running in parallel.
    QTemporaryDir runtimeDir;
    QVERIFY2(runtimeDir.isValid(), qPrintable(runtimeDir.errorString()));
    const QProcessEnvironment environment = environmentFor(runtimeDir.path());
    const QMap<QString, QByteArray> brokenFiles{
        { QStringLiteral("empty"), QByteArray() },
        { QStringLiteral("short"), QByteArray("\x13\x37 not a pool") },
        { QStringLiteral("garbage"), QByteArray(8192, '\xab') },
    };
    for (auto file = brokenFiles.cbegin(); file != brokenFiles.cend(); ++file) {
        QFile pool(runtimeDir.filePath(file.key() + QStringLiteral(".pool")));
        QVERIFY2(pool.open(QIODevice::WriteOnly), qPrintable(pool.errorString()));
        QCOMPARE(pool.write(file.value()), file.value().size());
    }
    QCOMPARE(runMventWith(environment,
                          { QStringLiteral("set"), QStringLiteral("good"), QStringLiteral("k"),
                            QStringLiteral("1") })
                     .exitCode,
             0);

    const Result table = runMventWith(environment, { QStringLiteral("pools") });
    QCOMPARE(table.exitCode, 0);
    const QList<QByteArray> lines = nonEmptyLines(table.output);
    QCOMPARE(lines.size(), 5);
    QCOMPARE(lines.first().simplified(), QByteArray("NAME SIZE KEYS PROCESSES STATUS"));
    QMap<QByteArray, QList<QByteArray>> cellsByName;
    for (const QByteArray &line : lines.mid(1)) {
        const QList<QByteArray> cells = line.simplified().split(' ');
        QVERIFY2(cells.size() == 5, line.constData());
        cellsByName.insert(cells.first(), cells.mid(1));
    }
    for (const QString &name : brokenFiles.keys()) {
        QCOMPARE(cellsByName.value(name.toUtf8()), (QList<QByteArray>{ "-", "-", "-", "corrupt" }));
    }
    QCOMPARE(cellsByName.value("good").value(3), QByteArray("ok"));
    // The error texts stay out of the table, so it fits a terminal of 80 columns.
    QVERIFY2(!table.output.contains("cannot attach"), table.output.constData());
    for (const QByteArray &line : lines) {
        QVERIFY2(line.size() <= 80, line.constData());
    }

    // The full reasons follow on standard error, one line per broken pool.
    const QList<QByteArray> errors = nonEmptyLines(table.errorOutput);
    QCOMPARE(errors.size(), brokenFiles.size());
    for (const QString &name : brokenFiles.keys()) {
        const QByteArray start = "mvent: cannot attach to pool '" + name.toUtf8() + "'";
        const bool found =
                std::any_of(errors.cbegin(), errors.cend(),
                            [&start](const QByteArray &line) { return line.startsWith(start); });
        QVERIFY2(found, table.errorOutput.constData());
    }

    const Result json =
            runMventWith(environment, { QStringLiteral("pools"), QStringLiteral("--json") });
    QCOMPARE(json.exitCode, 0);
    QCOMPARE(json.errorOutput, QByteArray());
    for (const QJsonValue &value : parseJson(json.output).array()) {
        const QJsonObject entry = value.toObject();
        if (entry.value(QStringLiteral("name")).toString() == QLatin1String("good")) {
            QCOMPARE(entry.value(QStringLiteral("status")).toString(), QStringLiteral("ok"));
            continue;
        }
        QCOMPARE(entry.value(QStringLiteral("status")).toString(), QStringLiteral("corrupt"));
        QVERIFY(entry.value(QStringLiteral("error"))
                        .toString()
                        .startsWith(QStringLiteral("cannot attach to pool")));
        QVERIFY(!entry.contains(QStringLiteral("totalSize")));
    }
}

void tst_MventCli::rmBrokenPoolIsQuiet()
{
    QTemporaryDir runtimeDir;
    QVERIFY2(runtimeDir.isValid(), qPrintable(runtimeDir.errorString()));
    const QProcessEnvironment environment = environmentFor(runtimeDir.path());
    const QMap<QString, QByteArray> brokenFiles{
        { QStringLiteral("empty"), QByteArray() },
        { QStringLiteral("junk"), QByteArray("\x13\x37 not a pool") },
    };
    for (auto file = brokenFiles.cbegin(); file != brokenFiles.cend(); ++file) {
        const QString path = runtimeDir.filePath(file.key() + QStringLiteral(".pool"));
        QFile pool(path);
        QVERIFY2(pool.open(QIODevice::WriteOnly), qPrintable(pool.errorString()));
        QCOMPARE(pool.write(file.value()), file.value().size());
        pool.close();

        const Result rm = runMventWith(environment, { QStringLiteral("rm"), file.key() });
        QCOMPARE(rm.errorOutput, QByteArray());
        QCOMPARE(rm.output, QByteArray());
        QCOMPARE(rm.exitCode, 0);
        QVERIFY(!QFile::exists(path));
    }
}

void tst_MventCli::libraryWarningsHiddenByDefault()
{
    QTemporaryDir runtimeDir;
    QVERIFY2(runtimeDir.isValid(), qPrintable(runtimeDir.errorString()));
    QFile junk(runtimeDir.filePath(QStringLiteral("junk.pool")));
    QVERIFY2(junk.open(QIODevice::WriteOnly), qPrintable(junk.errorString()));
    QCOMPARE(junk.write("not a pool"), qint64(10));
    junk.close();

    const QStringList get{ QStringLiteral("get"), QStringLiteral("junk"), QStringLiteral("k") };
    const QByteArray toolMessage = "mvent: cannot attach to pool 'junk'";
    const QByteArray libraryMessage = "mvent: mvent.pool: cannot attach to pool junk";
    const QProcessEnvironment quiet = environmentFor(runtimeDir.path());

    // By default only the tool's own message is printed.
    const Result plain = runMventWith(quiet, get);
    QCOMPARE(plain.exitCode, 1);
    const QList<QByteArray> plainLines = nonEmptyLines(plain.errorOutput);
    QCOMPARE(plainLines.size(), 1);
    QVERIFY2(plainLines.first().startsWith(toolMessage), plain.errorOutput.constData());

    // --verbose, before or after the command, adds the library's warning.
    for (const QStringList &arguments : { QStringList{ QStringLiteral("--verbose") } + get,
                                          get + QStringList{ QStringLiteral("--verbose") } }) {
        const Result verbose = runMventWith(quiet, arguments);
        QCOMPARE(verbose.exitCode, 1);
        QVERIFY2(verbose.errorOutput.contains(libraryMessage), verbose.errorOutput.constData());
        QVERIFY2(verbose.errorOutput.contains(toolMessage), verbose.errorOutput.constData());
    }

    // QT_LOGGING_RULES overrides the tool's rules for the categories it names.
    QProcessEnvironment withRules = quiet;
    withRules.insert(QStringLiteral("QT_LOGGING_RULES"), QStringLiteral("mvent.pool.warning=true"));
    const Result ruled = runMventWith(withRules, get);
    QCOMPARE(ruled.exitCode, 1);
    QVERIFY2(ruled.errorOutput.contains(libraryMessage), ruled.errorOutput.constData());
}

void tst_MventCli::poolsJsonCountsOtherProcesses()
{
    const QString pool = uniquePoolName();
    const SharedMemoryPool holder(pool);
    QVERIFY2(holder.isAttached(), qPrintable(holder.errorString()));

    const Result json = runMvent({ QStringLiteral("pools"), QStringLiteral("--json") });
    QCOMPARE(json.exitCode, 0);
    QJsonObject entry;
    for (const QJsonValue &value : parseJson(json.output).array()) {
        if (value.toObject().value(QStringLiteral("name")).toString() == pool) {
            entry = value.toObject();
        }
    }
    QVERIFY2(!entry.isEmpty(), json.output.constData());
    QCOMPARE(entry.value(QStringLiteral("attachedProcesses")).toInteger(), 1);
    QCOMPARE(entry.value(QStringLiteral("keyCount")).toInteger(), 0);
}

void tst_MventCli::statsJsonHasExpectedKeys()
{
    const QString pool = uniquePoolName();
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("k"), QStringLiteral("1") })
                     .exitCode,
             0);

    const Result stats = runMvent({ QStringLiteral("stats"), pool, QStringLiteral("--json") });
    QCOMPARE(stats.errorOutput, QByteArray());
    QCOMPARE(stats.exitCode, 0);
    const QJsonDocument document = parseJson(stats.output);
    QVERIFY2(document.isObject(), stats.output.constData());
    const QJsonObject object = document.object();

    const QStringList expectedKeys{ QStringLiteral("name"),
                                    QStringLiteral("path"),
                                    QStringLiteral("backing"),
                                    QStringLiteral("totalSize"),
                                    QStringLiteral("heapSize"),
                                    QStringLiteral("usedBytes"),
                                    QStringLiteral("freeBytes"),
                                    QStringLiteral("largestFreeBlock"),
                                    QStringLiteral("entryCount"),
                                    QStringLiteral("maxEntries"),
                                    QStringLiteral("maxKeyLength"),
                                    QStringLiteral("maxValueSize"),
                                    QStringLiteral("attachedProcesses"),
                                    QStringLiteral("maxAttachments"),
                                    QStringLiteral("eventLogSize"),
                                    QStringLiteral("eventSequence"),
                                    QStringLiteral("recoveries"),
                                    QStringLiteral("createdAt") };
    for (const QString &key : expectedKeys) {
        QVERIFY2(object.contains(key), qPrintable(key));
    }
    QCOMPARE(object.value(QStringLiteral("name")).toString(), pool);
    QCOMPARE(object.value(QStringLiteral("backing")).toString(), QStringLiteral("file"));
    QCOMPARE(object.value(QStringLiteral("path")).toString(), poolFilePath(pool));
    QCOMPARE(object.value(QStringLiteral("entryCount")).toInteger(), 1);
    QCOMPARE(object.value(QStringLiteral("attachedProcesses")).toInteger(), 0);
    QVERIFY(object.value(QStringLiteral("usedBytes")).toInteger() > 0);
}

void tst_MventCli::statsPrintsTable()
{
    const QString pool = uniquePoolName();
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("k"), QStringLiteral("1") })
                     .exitCode,
             0);

    const Result stats = runMvent({ QStringLiteral("stats"), pool });
    QCOMPARE(stats.exitCode, 0);
    QVERIFY2(stats.output.startsWith("name"), stats.output.constData());
    QVERIFY2(stats.output.contains(pool.toUtf8()), stats.output.constData());
    QVERIFY2(stats.output.contains("total size"), stats.output.constData());
    QVERIFY2(stats.output.contains("entries"), stats.output.constData());
}

void tst_MventCli::rmRemovesPool()
{
    const QString pool = uniquePoolName();
    QCOMPARE(runMvent({ QStringLiteral("set"), pool, QStringLiteral("k"), QStringLiteral("1") })
                     .exitCode,
             0);
    QVERIFY(runMvent({ QStringLiteral("pools") }).output.contains(pool.toUtf8()));

    const Result rm = runMvent({ QStringLiteral("rm"), pool });
    QCOMPARE(rm.errorOutput, QByteArray());
    QCOMPARE(rm.exitCode, 0);

    const Result pools = runMvent({ QStringLiteral("pools") });
    QCOMPARE(pools.exitCode, 0);
    QVERIFY2(!pools.output.contains(pool.toUtf8()), pools.output.constData());
    QVERIFY(!QFile::exists(poolFilePath(pool)));
    QCOMPARE(runMvent({ QStringLiteral("get"), pool, QStringLiteral("k") }).exitCode, 1);
}

void tst_MventCli::rmMissingPoolFails()
{
    const QString pool = uniquePoolName();
    const Result rm = runMvent({ QStringLiteral("rm"), pool });
    QCOMPARE(rm.exitCode, 1);
    const QString expected = QStringLiteral("mvent: pool '%1' does not exist in %2; run 'mvent "
                                            "pools' to list the pools there\n")
                                     .arg(pool, SharedMemoryPool::runtimeDirectory());
    QCOMPARE(QString::fromUtf8(rm.errorOutput), expected);

    // get reports a missing pool with the same message.
    const Result get = runMvent({ QStringLiteral("get"), pool, QStringLiteral("k") });
    QCOMPARE(get.exitCode, 1);
    QCOMPARE(get.errorOutput, rm.errorOutput);
}

void tst_MventCli::runScriptNamesBadCommand_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QByteArray>("message");

    QTest::newRow("unknown command") << QStringList{ QStringLiteral("tset") }
                                     << QByteArray("run.sh: unknown command 'tset'\n");
    QTest::newRow("missing command") << QStringList() << QByteArray("run.sh: missing command\n");
}

void tst_MventCli::runScriptNamesBadCommand()
{
    QFETCH(QStringList, arguments);
    QFETCH(QByteArray, message);

    QProcess process;
    process.start(QStringLiteral("bash"),
                  QStringList{ QStringLiteral(MVENT_RUN_SCRIPT) } + arguments);
    QVERIFY2(process.waitForStarted(), qPrintable(process.errorString()));
    QVERIFY(process.waitForFinished(60000));
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(process.exitCode(), 2);
    QCOMPARE(process.readAllStandardOutput(), QByteArray());
    const QByteArray errorOutput = process.readAllStandardError();
    QVERIFY2(errorOutput.startsWith(message + "Usage: ./run.sh demo"), errorOutput.constData());
}

QTEST_GUILESS_MAIN(tst_MventCli)

#include "tst_mventcli.moc"
