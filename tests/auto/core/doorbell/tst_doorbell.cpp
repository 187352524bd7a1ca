// SPDX-License-Identifier: MIT
#include "doorbell_p.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <memory>
#include <vector>

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mvent;

namespace {

// Waits until the doorbell's eventfd is readable, for at most timeoutMs.
bool waitForRing(const Doorbell &doorbell, int timeoutMs = 20000)
{
    pollfd descriptor{doorbell.fileDescriptor(), POLLIN, 0};
    return ::poll(&descriptor, 1, timeoutMs) == 1;
}

} // namespace

class tst_Doorbell : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void ringWakesListener();
    void everyRingWakesListener();
    void longRuntimeDirectoryWorks();
    void ringSkipsSymbolicLink();
    void ringSkipsRegularFile();
    void ringSkipsDirectory();
    void ringIgnoresMissingSocket();
    void damagedNameStaysInRuntimeDirectory();
    void ringersShareOneEventFd();

private:
    // Opens a doorbell and closes it, which removes its socket, and returns its name. The
    // caller then puts something else at the socket's path.
    QByteArray removedSocketName();

    std::unique_ptr<QTemporaryDir> m_runtimeDir;
};

void tst_Doorbell::init()
{
    m_runtimeDir = std::make_unique<QTemporaryDir>();
    QVERIFY2(m_runtimeDir->isValid(), qPrintable(m_runtimeDir->errorString()));
    QVERIFY(QFile::setPermissions(m_runtimeDir->path(),
                                  QFileDevice::ReadOwner | QFileDevice::WriteOwner
                                          | QFileDevice::ExeOwner));
    qputenv("MVENT_RUNTIME_DIR", QFile::encodeName(m_runtimeDir->path()));
}

QByteArray tst_Doorbell::removedSocketName()
{
    Doorbell doorbell;
    QString message;
    if (!doorbell.open(&message)) {
        qWarning("cannot open a doorbell: %s", qPrintable(message));
        return QByteArray();
    }
    const QByteArray name = doorbell.name();
    doorbell.close();
    return name;
}

void tst_Doorbell::ringWakesListener()
{
    Doorbell doorbell;
    QString message;
    QVERIFY2(doorbell.open(&message), qPrintable(message));
    QVERIFY(QFileInfo(Doorbell::pathFor(doorbell.name())).exists());


    // The first ring connects, and the listener's maintenance thread rings on accepting.
    DoorbellRinger ringer(1);
    ringer.ring(0, doorbell.name());
    QVERIFY2(waitForRing(doorbell), "the first ring did not arrive");
    QCOMPARE(doorbell.drain(), 1);
    QCOMPARE(doorbell.drain(), 0);
}

void tst_Doorbell::everyRingWakesListener()
{
    Doorbell doorbell;
    QString message;
    QVERIFY2(doorbell.open(&message), qPrintable(message));

    DoorbellRinger ringer(1);
    for (int round = 0; round < 20; ++round) {
        ringer.ring(0, doorbell.name());
        QVERIFY2(waitForRing(doorbell), qPrintable(QStringLiteral("ring %1 did not arrive")
                                                           .arg(round)));
        QCOMPARE(doorbell.drain(), 1);
    }
    // Once the ringer has the eventfd, a ring is readable as soon as ring() returns.
    ringer.ring(0, doorbell.name());
    QVERIFY(waitForRing(doorbell, 0));
    QCOMPARE(doorbell.drain(), 1);
}

void tst_Doorbell::longRuntimeDirectoryWorks()
{
    // Socket addresses hold at most 107 bytes of path, so a longer directory is reached
    // through /proc/self/fd.
    QString path = m_runtimeDir->path();
    while (path.size() < 160) {
        path += QStringLiteral("/nested-directory");
    }
    QVERIFY(QDir().mkpath(path));
    QVERIFY(QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner
                                                | QFileDevice::ExeOwner));
    qputenv("MVENT_RUNTIME_DIR", QFile::encodeName(path));

    Doorbell doorbell;
    QString message;
    QVERIFY2(doorbell.open(&message), qPrintable(message));
    QVERIFY(Doorbell::pathFor(doorbell.name()).size() > 108);
    QVERIFY(QFileInfo::exists(Doorbell::pathFor(doorbell.name())));

    DoorbellRinger ringer(1);
    for (int round = 0; round < 3; ++round) {
        ringer.ring(0, doorbell.name());
        QVERIFY2(waitForRing(doorbell), "a ring through the long path did not arrive");
        QCOMPARE(doorbell.drain(), 1);
    }
}

void tst_Doorbell::ringSkipsSymbolicLink()
{
    const QByteArray name = removedSocketName();
    QVERIFY(!name.isEmpty());
    const QString target = m_runtimeDir->filePath(QStringLiteral("target.txt"));
    const QByteArray content("content that a wake-up must not overwrite");
    QFile file(target);
    QVERIFY(file.open(QIODevice::WriteOnly));
    QCOMPARE(file.write(content), content.size());
    file.close();
    QVERIFY(QFile::link(target, Doorbell::pathFor(name)));

    DoorbellRinger ringer(1);
    ringer.ring(0, name);

    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), content);
}

void tst_Doorbell::ringSkipsRegularFile()
{
    const QByteArray name = removedSocketName();
    QVERIFY(!name.isEmpty());
    QFile file(Doorbell::pathFor(name));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();

    DoorbellRinger ringer(1);
    ringer.ring(0, name);
    ringer.ring(0, name);

    QCOMPARE(QFileInfo(file.fileName()).size(), 0);
}

void tst_Doorbell::ringSkipsDirectory()
{
    const QByteArray name = removedSocketName();
    QVERIFY(!name.isEmpty());
    QVERIFY(QDir().mkdir(Doorbell::pathFor(name)));

    DoorbellRinger ringer(1);
    ringer.ring(0, name);

    QVERIFY(QFileInfo(Doorbell::pathFor(name)).isDir());
}

void tst_Doorbell::ringIgnoresMissingSocket()
{
    const QByteArray name = removedSocketName();
    QVERIFY(!name.isEmpty());

    DoorbellRinger ringer(1);
    ringer.ring(0, name);

    QVERIFY(!QFileInfo::exists(Doorbell::pathFor(name)));
}

void tst_Doorbell::damagedNameStaysInRuntimeDirectory()
{
    // A damaged slot could name a path outside the runtime directory; removing the stale
    // socket of such a name must not delete that file.
    QTemporaryDir outside;
    QVERIFY(outside.isValid());
    const QString victim = outside.filePath(QStringLiteral("victim"));
    QFile file(victim);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    const QByteArray name = QFile::encodeName(QStringLiteral("1-a/../../..") + victim);

    QVERIFY(!Doorbell::isValidName(name));
    Doorbell::removeStale(name);
    DoorbellRinger ringer(1);
    ringer.ring(0, name);
    QVERIFY(QFileInfo::exists(victim));

    QVERIFY(Doorbell::isValidName("1234-0123456789abcdef"));
    QVERIFY(!Doorbell::isValidName("1234"));
    QVERIFY(!Doorbell::isValidName(""));
}

void tst_Doorbell::ringersShareOneEventFd()
{
    // Many pool objects of one process ring the same listener; they must share one eventfd
    // instead of each holding its own.
    const auto countEventFds = [] {
        int count = 0;
        const QDir fds(QStringLiteral("/proc/self/fd"));
        for (const QString &entry : fds.entryList(QDir::System | QDir::NoDotAndDotDot)) {
            if (QFile::symLinkTarget(fds.filePath(entry)).contains(QLatin1String("eventfd"))) {
                ++count;
            }
        }
        return count;
    };
    Doorbell doorbell;
    QString message;
    QVERIFY2(doorbell.open(&message), qPrintable(message));
    const int before = countEventFds();

    constexpr int Ringers = 10;
    std::vector<std::unique_ptr<DoorbellRinger>> ringers;
    for (int i = 0; i < Ringers; ++i) {
        ringers.push_back(std::make_unique<DoorbellRinger>(1));
    }
    // Each ringer rings until a ring arrives straight through the eventfd.
    for (int round = 0; round < 3; ++round) {
        for (const auto &ringer : ringers) {
            ringer->ring(0, doorbell.name());
            QVERIFY2(waitForRing(doorbell), "a ring did not arrive");
            doorbell.drain();
        }
    }
    QCOMPARE(countEventFds(), before + 1);
    ringers.clear();
    QCOMPARE(countEventFds(), before);
}

QTEST_GUILESS_MAIN(tst_Doorbell)
#include "tst_doorbell.moc"
