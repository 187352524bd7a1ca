// SPDX-License-Identifier: MIT
// mvent-monitor --screenshot under a virtual X server (xvfb-run): the program must exit 0 and
// leave an image of the window's size that is not blank.

#include "../trafficprocess.h"

#include <mainwindow.h>

#include <QFile>
#include <QImage>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace mvent;
using namespace mvent::monitor;

class tst_Screenshot : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void savesWindowImage();
    void rejectsMissingPool();

private:
    // Runs mvent-monitor with arguments under xvfb-run and returns its exit code, or -1 if it
    // did not finish; output receives its standard output.
    int runMonitor(const QStringList &arguments, QByteArray *output);

    QString m_xvfbRun;
};

void tst_Screenshot::initTestCase()
{
    m_xvfbRun = QStandardPaths::findExecutable(QStringLiteral("xvfb-run"));
    if (m_xvfbRun.isEmpty()) {
        QSKIP("xvfb-run is not installed, so there is no X server to run mvent-monitor on. "
              "Install the Debian package xvfb (./run.sh test does) to run this test.");
    }
}

int tst_Screenshot::runMonitor(const QStringList &arguments, QByteArray *output)
{
    // Two xvfb-run -a started at once can pick the same display number. The loser fails with
    // an error of xvfb-run itself rather than of mvent-monitor, so such runs are retried.
    for (int attempt = 1;; ++attempt) {
        QProcess process;
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        // CTest sets the offscreen platform for the test itself, but the program must use X.
        environment.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("xcb"));
        process.setProcessEnvironment(environment);
        process.setProcessChannelMode(QProcess::SeparateChannels);
        // -a picks a free display number, so parallel tests do not share one server. Debian
        // 12's xvfb-run starts a 1280x1024 screen, which fits MainWindow::DefaultSize.
        process.start(m_xvfbRun,
                      QStringList{QStringLiteral("-a"), QStringLiteral(MVENT_HELPER_MVENT_MONITOR)}
                              + arguments);
        if (!process.waitForFinished(120000)) {
            process.kill();
            process.waitForFinished();
            return -1;
        }
        *output = process.readAllStandardOutput();
        const QByteArray errors = process.readAllStandardError();
        if (!errors.isEmpty()) {
            qInfo("mvent-monitor wrote to standard error:\n%s", errors.constData());
        }
        const bool wrapperFailed = errors.contains("xvfb-run: error");
        if (wrapperFailed && attempt < 3) {
            continue;
        }
        return process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    }
}

void tst_Screenshot::savesWindowImage()
{
    const QString pool = uniquePoolName("tst-screenshot");
    TrafficProcess traffic(pool, {QStringLiteral("frames:120"), QStringLiteral("ticks:40")});
    QVERIFY(traffic.waitUntilReady());

    QTemporaryDir directory;
    QVERIFY2(directory.isValid(), qPrintable(directory.errorString()));
    const QString path = directory.filePath(QStringLiteral("out.png"));

    QByteArray output;
    const int status = runMonitor({QStringLiteral("--screenshot"), path, QStringLiteral("--pool"),
                                   pool},
                                  &output);
    traffic.stop();
    SharedMemoryPool::removePool(pool);
    QCOMPARE(status, 0);

    const QRegularExpression saved(QStringLiteral("saved (\\d+)x(\\d+) screenshot to (.+)\\n"));
    const QRegularExpressionMatch match = saved.match(QString::fromUtf8(output));
    QVERIFY2(match.hasMatch(), output.constData());
    const QSize reported(match.captured(1).toInt(), match.captured(2).toInt());
    QCOMPARE(match.captured(3), path);

    QImage image;
    QVERIFY2(image.load(path), qPrintable(path));
    QVERIFY(!image.isNull());
    QCOMPARE(image.size(), reported);
    // Without a window manager the window keeps the size it asked for.
    QCOMPARE(image.size(), MainWindow::DefaultSize);

    // A blank or unpainted window has one or two colours, but text, tables and charts have many.
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 4) {
        for (int x = 0; x < image.width(); x += 4) {
            colours.insert(image.pixel(x, y));
        }
    }
    QVERIFY2(colours.size() > 16, qPrintable(QString::number(colours.size())));
}

void tst_Screenshot::rejectsMissingPool()
{
    QTemporaryDir directory;
    QVERIFY2(directory.isValid(), qPrintable(directory.errorString()));
    const QString path = directory.filePath(QStringLiteral("missing.png"));

    QByteArray output;
    const int status = runMonitor({QStringLiteral("--screenshot"), path, QStringLiteral("--pool"),
                                   uniquePoolName("tst-screenshot-missing")},
                                  &output);
    QCOMPARE(status, 1);
    QVERIFY(!QFile::exists(path));
}

QTEST_GUILESS_MAIN(tst_Screenshot)
#include "tst_screenshot.moc"
