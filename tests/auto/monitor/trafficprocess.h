// SPDX-License-Identifier: MIT
#pragma once

// A monitor-traffic helper process for the dashboard tests, and unique pool names.

#include <QCoreApplication>
#include <QProcess>
#include <QStringList>

#include <sharedmemorypool.h>

#include <atomic>

// Returns a pool name unique to this process and call, so tests can run in parallel.
inline QString uniquePoolName(const char *prefix)
{
    static std::atomic<int> counter{0};
    return QStringLiteral("%1-%2-%3")
            .arg(QLatin1String(prefix))
            .arg(QCoreApplication::applicationPid())
            .arg(++counter);
}

// Runs monitor-traffic for pool with the given EVENT:COUNT[:fail|:unhandled] arguments, after
// options such as "--large". The process exits when this object closes its standard input,
// also if the test crashes.
class TrafficProcess
{
public:
    TrafficProcess(const QString &pool, const QStringList &traffic,
                   const QStringList &options = QStringList())
    {
        m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        m_process.start(QStringLiteral(MVENT_HELPER_MONITOR_TRAFFIC),
                        options + QStringList{pool} + traffic);
    }

    ~TrafficProcess() { stop(); }

    // Waits until the helper published everything and its handlers ran. Returns false if the
    // helper failed or printed nothing for two minutes.
    bool waitUntilReady()
    {
        while (!m_output.contains("ready\n")) {
            if (!m_process.waitForReadyRead(120000)) {
                return false;
            }
            m_output += m_process.readAllStandardOutput();
        }
        return true;
    }

    qint64 pid() const { return m_process.processId(); }

    // Closes standard input so the helper exits, and waits for it.
    void stop()
    {
        if (m_process.state() == QProcess::NotRunning) {
            return;
        }
        m_process.closeWriteChannel();
        if (!m_process.waitForFinished(120000)) {
            m_process.kill();
            m_process.waitForFinished();
        }
    }

private:
    QProcess m_process;
    QByteArray m_output;
};
