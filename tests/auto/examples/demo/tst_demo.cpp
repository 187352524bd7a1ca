// SPDX-License-Identifier: MIT
// Runs mvent-demo as a real process tree and checks how it ends: on a rejected command line,
// on SIGINT or SIGTERM, when a child dies, and after a normal run.

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <cerrno>
#include <csignal>
#include <memory>
#include <sys/types.h>
#include <unistd.h>

namespace {

// Bound on waiting for the demo, so that a hang fails the test instead of stalling CTest. It
// is no performance expectation.
constexpr int HangGuardMs = 60000;

// Long enough that the demo never ends on its own before the test stops it.
const QString LongDuration = QStringLiteral("600");

// Returns the ids of the processes whose parent is parentPid, read from /proc/PID/stat.
QList<qint64> childProcessIds(qint64 parentPid)
{
    QList<qint64> children;
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
    for (const QString &entry : entries) {
        bool isPid = false;
        const qint64 pid = entry.toLongLong(&isPid);
        if (!isPid) {
            continue;
        }
        QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
        if (!stat.open(QIODevice::ReadOnly)) {
            continue; // the process ended meanwhile
        }
        // The fields after the command name, which is in brackets and may contain spaces, are
        // the state and then the parent's pid.
        const QByteArray line = stat.readAll();
        const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
        if (fields.size() > 1 && fields.at(1).toLongLong() == parentPid) {
            children.append(pid);
        }
    }
    return children;
}

bool processExists(qint64 pid)
{
    return ::kill(pid_t(pid), 0) == 0 || errno != ESRCH;
}

// Returns the role that the demo passed to the child process pid with --role, or "".
QString childRole(qint64 pid)
{
    QFile cmdline(QStringLiteral("/proc/%1/cmdline").arg(pid));
    if (!cmdline.open(QIODevice::ReadOnly)) {
        return QString();
    }
    const QList<QByteArray> arguments = cmdline.readAll().split('\0');
    const qsizetype roleIndex = arguments.indexOf("--role");
    if (roleIndex < 0 || roleIndex + 1 >= arguments.size()) {
        return QString();
    }
    return QString::fromUtf8(arguments.at(roleIndex + 1));
}

} // namespace

class tst_Demo : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void invalidFileRejected_data();
    void invalidFileRejected();
    void usageErrorExitsTwo_data();
    void usageErrorExitsTwo();
    void helpDocumentsExitStatus();

    void signalStopsDemo_data();
    void signalStopsDemo();
    void childCrashStopsDemo();
    void shortRunSucceeds();

private:
    void startDemo(QProcess *process, const QStringList &arguments, bool ownProcessGroup = false);
    bool waitForProducers(QProcess *process, QByteArray *output);
    QStringList runtimeEntries() const;

    std::unique_ptr<QTemporaryDir> m_workDir;    // text files of the test
    std::unique_ptr<QTemporaryDir> m_runtimeDir; // MVENT_RUNTIME_DIR of the demo, new per test
};

void tst_Demo::initTestCase()
{
    QVERIFY2(QFile::exists(QStringLiteral(MVENT_HELPER_MVENT_DEMO)), MVENT_HELPER_MVENT_DEMO);
    m_workDir = std::make_unique<QTemporaryDir>();
    QVERIFY2(m_workDir->isValid(), qPrintable(m_workDir->errorString()));
}

void tst_Demo::init()
{
    // A directory of its own shows every file that the demo leaves behind, even when CTest
    // runs other tests in the shared MVENT_RUNTIME_DIR at the same time.
    m_runtimeDir = std::make_unique<QTemporaryDir>();
    QVERIFY2(m_runtimeDir->isValid(), qPrintable(m_runtimeDir->errorString()));
}

void tst_Demo::cleanup()
{
    m_runtimeDir.reset();
}

void tst_Demo::startDemo(QProcess *process, const QStringList &arguments, bool ownProcessGroup)
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("MVENT_RUNTIME_DIR"), m_runtimeDir->path());
    process->setProcessEnvironment(environment);
    // A process group of its own lets the test signal the demo and its children at once, as
    // Ctrl-C does in a terminal.
    if (ownProcessGroup) {
        process->setChildProcessModifier([] { ::setpgid(0, 0); });
    }
    process->start(QStringLiteral(MVENT_HELPER_MVENT_DEMO), arguments);
}

// Reads the demo's output until both producers print that they publish, which they do only
// after both consumers subscribed, so all four children are running then.
bool tst_Demo::waitForProducers(QProcess *process, QByteArray *output)
{
    const auto bothPublishing = [output] {
        return output->contains("[system-producer] publishing")
                && output->contains("[text-producer  ] publishing");
    };
    while (!bothPublishing()) {
        if (!process->waitForReadyRead(HangGuardMs)) {
            return false;
        }
        *output += process->readAllStandardOutput();
    }
    return true;
}

QStringList tst_Demo::runtimeEntries() const
{
    return QDir(m_runtimeDir->path())
            .entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot);
}

void tst_Demo::invalidFileRejected_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("reason");

    const QString empty = m_workDir->filePath(QStringLiteral("empty.txt"));
    QFile emptyFile(empty);
    QVERIFY(emptyFile.open(QIODevice::WriteOnly));
    emptyFile.close();

    const QString blank = m_workDir->filePath(QStringLiteral("blank.txt"));
    QFile blankFile(blank);
    QVERIFY(blankFile.open(QIODevice::WriteOnly));
    blankFile.write("\n   \n\t\n");
    blankFile.close();

    const QString missing = m_workDir->filePath(QStringLiteral("missing.txt"));
    QTest::newRow("empty file") << empty << QStringLiteral("is empty");
    QTest::newRow("blank lines only") << blank << QStringLiteral("contains only blank lines");
    QTest::newRow("/dev/null") << QStringLiteral("/dev/null")
                               << QStringLiteral("is not a regular file");
    QTest::newRow("directory") << m_workDir->path()
                               << QStringLiteral("is a directory, not a regular file");
    QTest::newRow("missing file") << missing << QStringLiteral("not found");
}

void tst_Demo::invalidFileRejected()
{
    QFETCH(QString, path);
    QFETCH(QString, reason);

    QProcess demo;
    startDemo(&demo, { QStringLiteral("--file"), path, QStringLiteral("--duration"),
                       QStringLiteral("1") });
    QVERIFY2(demo.waitForFinished(HangGuardMs), "mvent-demo did not exit");
    const QString errorOutput = QString::fromUtf8(demo.readAllStandardError());

    QCOMPARE(demo.exitStatus(), QProcess::NormalExit);
    QCOMPARE(demo.exitCode(), 2);
    QVERIFY2(errorOutput.contains(QStringLiteral("'%1' %2").arg(path, reason)),
             qPrintable(errorOutput));
    QVERIFY2(errorOutput.contains(QStringLiteral("Pass a text file")), qPrintable(errorOutput));
    // The check comes before the pool and the children, so nothing ran and nothing is left.
    QCOMPARE(demo.readAllStandardOutput(), QByteArray());
    QCOMPARE(runtimeEntries(), QStringList());
}

void tst_Demo::usageErrorExitsTwo_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");

    QTest::newRow("unknown long option") << QStringList{ QStringLiteral("--bogus") }
                                         << QStringLiteral("unknown option '--bogus'");
    QTest::newRow("unknown short option") << QStringList{ QStringLiteral("-x") }
                                          << QStringLiteral("unknown option '-x'");
    QTest::newRow("missing value") << QStringList{ QStringLiteral("--duration") }
                                   << QStringLiteral("missing value after '--duration'");
    QTest::newRow("zero duration")
            << QStringList{ QStringLiteral("--duration"), QStringLiteral("0") }
            << QStringLiteral("invalid --duration value '0'");
    QTest::newRow("extra argument") << QStringList{ QStringLiteral("extra") }
                                    << QStringLiteral("unexpected argument 'extra'");
}

void tst_Demo::usageErrorExitsTwo()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);

    QProcess demo;
    startDemo(&demo, arguments);
    QVERIFY2(demo.waitForFinished(HangGuardMs), "mvent-demo did not exit");
    const QString errorOutput = QString::fromUtf8(demo.readAllStandardError());

    QCOMPARE(demo.exitStatus(), QProcess::NormalExit);
    QCOMPARE(demo.exitCode(), 2);
    QVERIFY2(errorOutput.startsWith(QStringLiteral("mvent-demo: ") + message),
             qPrintable(errorOutput));
    QCOMPARE(demo.readAllStandardOutput(), QByteArray());
}

void tst_Demo::helpDocumentsExitStatus()
{
    QProcess demo;
    startDemo(&demo, { QStringLiteral("--help") });
    QVERIFY2(demo.waitForFinished(HangGuardMs), "mvent-demo did not exit");
    const QString output = QString::fromUtf8(demo.readAllStandardOutput());

    QCOMPARE(demo.exitCode(), 0);
    QVERIFY2(output.contains(QStringLiteral("Exit status: 0 if no event was lost, 1 if an event "
                                            "was lost or a process failed, 2 for an invalid "
                                            "option or --file")),
             qPrintable(output));
}

void tst_Demo::signalStopsDemo_data()
{
    QTest::addColumn<int>("signalNumber");
    QTest::addColumn<bool>("toProcessGroup");
    QTest::addColumn<int>("expectedExitCode");
    QTest::addColumn<QString>("signalName");

    QTest::newRow("SIGINT to parent") << SIGINT << false << 130 << QStringLiteral("SIGINT");
    QTest::newRow("SIGTERM to parent") << SIGTERM << false << 143 << QStringLiteral("SIGTERM");
    // Ctrl-C in a terminal sends SIGINT to the parent and to every child.
    QTest::newRow("SIGINT to group") << SIGINT << true << 130 << QStringLiteral("SIGINT");
}

void tst_Demo::signalStopsDemo()
{
    QFETCH(int, signalNumber);
    QFETCH(bool, toProcessGroup);
    QFETCH(int, expectedExitCode);
    QFETCH(QString, signalName);

    QProcess demo;
    startDemo(&demo, { QStringLiteral("--duration"), LongDuration }, toProcessGroup);
    QByteArray output;
    QVERIFY2(waitForProducers(&demo, &output), output.constData());
    const qint64 parentPid = demo.processId();
    const QList<qint64> children = childProcessIds(parentPid);
    QCOMPARE(children.size(), 4);

    const pid_t target = toProcessGroup ? -pid_t(parentPid) : pid_t(parentPid);
    QCOMPARE(::kill(target, signalNumber), 0);
    QVERIFY2(demo.waitForFinished(HangGuardMs), "mvent-demo did not stop after the signal");
    output += demo.readAllStandardOutput();
    const QString text = QString::fromUtf8(output);

    QCOMPARE(demo.exitStatus(), QProcess::NormalExit);
    QCOMPARE(demo.exitCode(), expectedExitCode);
    QVERIFY2(text.contains(QStringLiteral("== report")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("result: interrupted by ") + signalName),
             qPrintable(text));
    // Each child stops on the signal and reports, so none is listed as killed or failed.
    static const QRegularExpression badRow(
            QStringLiteral("^(system|text)-(consumer|producer) +\\d+ +(killed|failed)"),
            QRegularExpression::MultilineOption);
    QVERIFY2(!badRow.match(text).hasMatch(), qPrintable(text));
    for (const qint64 child : children) {
        QVERIFY2(!processExists(child), qPrintable(QStringLiteral("child %1 still runs")
                                                           .arg(child)));
    }
    // No pool and no doorbell socket of any process is left.
    QCOMPARE(runtimeEntries(), QStringList());
}

void tst_Demo::childCrashStopsDemo()
{
    QProcess demo;
    startDemo(&demo, { QStringLiteral("--duration"), LongDuration });
    QByteArray output;
    QVERIFY2(waitForProducers(&demo, &output), output.constData());
    const QList<qint64> children = childProcessIds(demo.processId());
    QCOMPARE(children.size(), 4);

    qint64 producerPid = 0;
    for (const qint64 child : children) {
        if (childRole(child) == QLatin1String("text-producer")) {
            producerPid = child;
        }
    }
    QVERIFY(producerPid != 0);
    QCOMPARE(::kill(pid_t(producerPid), SIGKILL), 0);
    QVERIFY2(demo.waitForFinished(HangGuardMs), "mvent-demo did not stop after a child died");
    output += demo.readAllStandardOutput();
    const QString text = QString::fromUtf8(output);
    const QString errorOutput = QString::fromUtf8(demo.readAllStandardError());

    QCOMPARE(demo.exitStatus(), QProcess::NormalExit);
    QCOMPARE(demo.exitCode(), 1);
    QVERIFY2(errorOutput.contains(QStringLiteral("text-producer (pid %1) was killed by a signal "
                                                 "or crashed; stopping the demo")
                                          .arg(producerPid)),
             qPrintable(errorOutput));
    QVERIFY2(text.contains(QStringLiteral("result: FAILED, a process exited early")),
             qPrintable(text));
    for (const qint64 child : children) {
        QVERIFY2(!processExists(child), qPrintable(QStringLiteral("child %1 still runs")
                                                           .arg(child)));
    }
    // The killed producer could not remove its doorbell socket, so only the pool is checked.
    const QStringList pools = QDir(m_runtimeDir->path())
                                      .entryList({ QStringLiteral("*.pool") }, QDir::Files);
    QCOMPARE(pools, QStringList());
}

void tst_Demo::shortRunSucceeds()
{
    QProcess demo;
    startDemo(&demo, { QStringLiteral("--duration"), QStringLiteral("1") });
    QVERIFY2(demo.waitForFinished(HangGuardMs), "mvent-demo did not finish");
    const QString text = QString::fromUtf8(demo.readAllStandardOutput());

    QCOMPARE(demo.exitStatus(), QProcess::NormalExit);
    QCOMPARE(demo.exitCode(), 0);
    QVERIFY2(text.contains(QStringLiteral("result: ok, every consumer received every event "
                                          "sent")),
             qPrintable(text));
    QCOMPARE(runtimeEntries(), QStringList());
}

QTEST_GUILESS_MAIN(tst_Demo)
#include "tst_demo.moc"
