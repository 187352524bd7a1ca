// SPDX-License-Identifier: MIT
#include "doorbell_p.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <sys/stat.h>
#include <unistd.h>

using namespace mvent;

class tst_Doorbell : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void ringWakesListener();
    void ringSkipsSymbolicLink();
    void ringSkipsRegularFile();
    void ringSkipsDirectory();
    void ringIgnoresMissingFifo();

private:
    // Opens a doorbell and closes it, which removes its FIFO, and returns its name. The caller
    // then puts something else at the FIFO's path.
    QByteArray removedFifoName();

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

QByteArray tst_Doorbell::removedFifoName()
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

    DoorbellRinger ringer(1);
    ringer.ring(0, doorbell.name());

    QCOMPARE(doorbell.drain(), 1);
    QCOMPARE(doorbell.drain(), 0);
}

void tst_Doorbell::ringSkipsSymbolicLink()
{
    const QByteArray name = removedFifoName();
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
    const QByteArray name = removedFifoName();
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
    const QByteArray name = removedFifoName();
    QVERIFY(!name.isEmpty());
    QVERIFY(QDir().mkdir(Doorbell::pathFor(name)));

    DoorbellRinger ringer(1);
    ringer.ring(0, name);

    QVERIFY(QFileInfo(Doorbell::pathFor(name)).isDir());
}

void tst_Doorbell::ringIgnoresMissingFifo()
{
    const QByteArray name = removedFifoName();
    QVERIFY(!name.isEmpty());

    DoorbellRinger ringer(1);
    ringer.ring(0, name);

    QVERIFY(!QFileInfo::exists(Doorbell::pathFor(name)));
}

QTEST_GUILESS_MAIN(tst_Doorbell)
#include "tst_doorbell.moc"
