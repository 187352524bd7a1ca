// SPDX-License-Identifier: MIT
#include "producers.h"

#include "common.h"
#include "procfs.h"
#include "terminationsignals.h"
#include "textfile.h"

#include <eventmanager.h>

#include <QCoreApplication>
#include <QTimer>

#include <cstdio>
#include <functional>

using mvent::EventManager;

namespace demo {

namespace {

// Runs publishOnce every intervalMs for durationMs on the event loop, or until SIGINT or
// SIGTERM arrives, then publishes the done event with the number of events sent and prints
// the report. Returns the exit code.
int runProducer(EventManager *manager, const QString &role, int durationMs, int intervalMs,
                const std::function<bool()> &publishOnce, TerminationSignals &terminationSignals)
{
    bool failed = false;
    int stopSignal = 0;
    QObject::connect(&terminationSignals, &TerminationSignals::received, qApp,
                     [&stopSignal](int signalNumber) {
                         stopSignal = signalNumber;
                         QCoreApplication::quit();
                     });
    QTimer ticker;
    ticker.setTimerType(Qt::PreciseTimer);
    ticker.setInterval(intervalMs);
    QObject::connect(&ticker, &QTimer::timeout, [&] {
        if (!publishOnce()) {
            std::fprintf(stderr, "%s: publish failed: %s\n", qPrintable(role),
                         qPrintable(manager->errorString()));
            failed = true;
            QCoreApplication::quit();
        }
    });
    QTimer::singleShot(durationMs, Qt::PreciseTimer, qApp, &QCoreApplication::quit);

    printLine(QStringLiteral("publishing for %1 s").arg(durationMs / 1000.0));
    ticker.start();
    QCoreApplication::exec();
    ticker.stop();

    // Sent counts the data events only; the done event carries the count.
    const quint64 sent = manager->publishedCount();
    const QVariantMap done{ { QStringLiteral("role"), role },
                            { QStringLiteral("sent"), sent },
                            { QLatin1String(SentNsKey), monotonicNs() } };
    if (!manager->publish(QLatin1String(DoneEvent), done)) {
        std::fprintf(stderr, "%s: publishing the done event failed: %s\n", qPrintable(role),
                     qPrintable(manager->errorString()));
        return 1;
    }
    printReport({ { QStringLiteral("role"), role }, { QStringLiteral("sent"), sent } });
    if (stopSignal != 0) {
        return 128 + stopSignal;
    }
    return failed ? 1 : 0;
}

} // namespace

int runSystemProducer(const QString &poolName, int durationMs, int intervalMs,
                      TerminationSignals &terminationSignals)
{
    EventManager manager(poolName);
    if (!manager.isAttached()) {
        std::fprintf(stderr, "system-producer: %s\n", qPrintable(manager.errorString()));
        return 1;
    }

    // Each sample publishes the counters that could be read; a missing file skips its event.
    const auto publishSample = [&manager] {
        bool ok = true;
        if (const std::optional<CpuTimes> cpu = readCpuTimes()) {
            ok &= manager.publish(QLatin1String(CpuEvent),
                                  QVariantMap{ { QStringLiteral("total"), cpu->total },
                                               { QStringLiteral("idle"), cpu->idle },
                                               { QLatin1String(SentNsKey), monotonicNs() } });
        }
        if (const std::optional<MemoryInfo> memory = readMemoryInfo()) {
            ok &= manager.publish(QLatin1String(MemoryEvent),
                                  QVariantMap{ { QStringLiteral("total"), memory->totalBytes },
                                               { QStringLiteral("available"),
                                                 memory->availableBytes },
                                               { QLatin1String(SentNsKey), monotonicNs() } });
        }
        if (const std::optional<NetworkBytes> network = readNetworkBytes()) {
            ok &= manager.publish(
                    QLatin1String(NetworkEvent),
                    QVariantMap{ { QStringLiteral("received"), network->receivedBytes },
                                 { QStringLiteral("transmitted"), network->transmittedBytes },
                                 { QLatin1String(SentNsKey), monotonicNs() } });
        }
        if (const std::optional<LoadAverage> load = readLoadAverage()) {
            ok &= manager.publish(QLatin1String(LoadEvent),
                                  QVariantMap{ { QStringLiteral("one"), load->oneMinute },
                                               { QStringLiteral("five"), load->fiveMinutes },
                                               { QStringLiteral("fifteen"), load->fifteenMinutes },
                                               { QLatin1String(SentNsKey), monotonicNs() } });
        }
        return ok;
    };
    return runProducer(&manager, QLatin1String(SystemProducerRole), durationMs, intervalMs,
                       publishSample, terminationSignals);
}

int runTextProducer(const QString &poolName, const QString &path, int durationMs, int intervalMs,
                    TerminationSignals &terminationSignals)
{
    // The parent checks the file before it starts the children, so this fails only if the
    // file changed since then or the role was started by hand.
    QString error;
    const QStringList lines = readTextLines(path, &error);
    if (lines.isEmpty()) {
        std::fprintf(stderr, "text-producer: %s\n", qPrintable(error));
        return 1;
    }

    EventManager manager(poolName);
    if (!manager.isAttached()) {
        std::fprintf(stderr, "text-producer: %s\n", qPrintable(manager.errorString()));
        return 1;
    }
    printLine(QStringLiteral("streaming %1 lines of %2").arg(lines.size()).arg(path));

    qsizetype next = 0;
    const auto publishLine = [&] {
        const QVariantMap value{ { QStringLiteral("line"), lines.at(next) },
                                 { QStringLiteral("number"), next + 1 },
                                 { QLatin1String(SentNsKey), monotonicNs() } };
        next = (next + 1) % lines.size();
        return manager.publish(QLatin1String(LineEvent), value);
    };
    return runProducer(&manager, QLatin1String(TextProducerRole), durationMs, intervalMs,
                       publishLine, terminationSignals);
}

} // namespace demo
