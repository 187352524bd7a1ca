// SPDX-License-Identifier: MIT
#include "consumers.h"

#include "common.h"
#include "procfs.h"
#include "terminationsignals.h"

#include <memoryeventhandler.h>

#include <QCoreApplication>
#include <QHash>
#include <QRegularExpression>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <functional>

using mvent::MemoryEventHandler;

namespace demo {

namespace {

constexpr int SummaryIntervalMs = 1000;

// After SIGINT or SIGTERM a consumer waits this long for the producer's done event. Ctrl-C
// stops the producer too, and its done event lets the report count the lost events.
constexpr int DoneWaitAfterSignalMs = 1000;

// Counting, latency and end-of-stream handling shared by both consumers.
class Consumer
{
public:
    Consumer(const QString &poolName, const QString &role, const QString &producerRole,
             TerminationSignals &terminationSignals)
        : m_handler(poolName)
        , m_role(role)
        , m_producerRole(producerRole)
        , m_terminationSignals(terminationSignals)
    {
    }

    bool isAttached() const { return m_handler.isAttached(); }
    QString errorString() const { return m_handler.errorString(); }
    MemoryEventHandler &handler() { return m_handler; }
    quint64 received() const { return m_received; }

    // Counts a data event and records its delivery latency from the publisher's timestamp.
    void count(const QVariantMap &value)
    {
        ++m_received;
        m_latenciesNs.append(monotonicNs() - value.value(QLatin1String(SentNsKey)).toLongLong());
    }

    // Prints summary() every second until the producer's done event or SIGINT or SIGTERM
    // arrives, then the last summary and the report. Returns 0 if every event the producer
    // sent was received, 1 if not, and 128 plus the signal number after a signal.
    int run(const std::function<QString()> &summary)
    {
        qint64 sent = -1;
        int stopSignal = 0;
        QObject::connect(&m_terminationSignals, &TerminationSignals::received, qApp,
                         [&stopSignal](int signalNumber) {
                             // Ctrl-C reaches this process from the terminal and then again
                             // from the parent as SIGTERM, so only the first signal counts.
                             if (stopSignal != 0) {
                                 return;
                             }
                             stopSignal = signalNumber;
                             QTimer::singleShot(DoneWaitAfterSignalMs, qApp,
                                                &QCoreApplication::quit);
                         });
        m_handler.on(QLatin1String(DoneEvent), [&](const QVariant &value) {
            const QVariantMap done = value.toMap();
            if (done.value(QStringLiteral("role")).toString() == m_producerRole) {
                sent = done.value(QStringLiteral("sent")).toLongLong();
                QCoreApplication::quit();
            }
        });
        quint64 missed = 0;
        QObject::connect(&m_handler, &MemoryEventHandler::eventsMissed, qApp,
                         [&missed](quint64 count) { missed += count; });
        QTimer ticker;
        QObject::connect(&ticker, &QTimer::timeout, [&] { printLine(summary()); });
        ticker.start(SummaryIntervalMs);

        printLine(QLatin1String(ReadyLine));
        QCoreApplication::exec();
        printLine(summary());

        QVariantMap report{ { QStringLiteral("role"), m_role },
                            { QStringLiteral("received"), m_received },
                            { QStringLiteral("missed"), missed },
                            { QStringLiteral("p50Ns"), percentile(m_latenciesNs, 0.50) },
                            { QStringLiteral("p99Ns"), percentile(m_latenciesNs, 0.99) },
                            { QStringLiteral("handlerErrors"), m_handler.handlerErrorCount() } };
        // Without the done event the number sent is unknown, so the report leaves out sent
        // and lost.
        const qint64 lost = sent - qint64(m_received);
        if (sent >= 0) {
            report.insert(QStringLiteral("sent"), sent);
            report.insert(QStringLiteral("lost"), lost);
        }
        printReport(report);
        if (stopSignal != 0) {
            return 128 + stopSignal;
        }
        return lost == 0 ? 0 : 1;
    }

private:
    MemoryEventHandler m_handler;
    QString m_role;
    QString m_producerRole;
    TerminationSignals &m_terminationSignals;
    quint64 m_received = 0;
    QList<qint64> m_latenciesNs;
};

QString formatRate(double bytesPerSecond)
{
    return formatBytes(bytesPerSecond) + QStringLiteral("/s");
}

} // namespace

int runSystemConsumer(const QString &poolName, TerminationSignals &terminationSignals)
{
    Consumer consumer(poolName, QLatin1String(SystemConsumerRole),
                      QLatin1String(SystemProducerRole), terminationSignals);
    if (!consumer.isAttached()) {
        std::fprintf(stderr, "system-consumer: %s\n", qPrintable(consumer.errorString()));
        return 1;
    }

    // Latest values, and the CPU and network counters at the previous summary, so that each
    // summary shows the rates over the last second.
    CpuTimes cpu;
    CpuTimes cpuBefore;
    MemoryInfo memory;
    NetworkBytes network;
    NetworkBytes networkBefore;
    qint64 networkNs = 0;
    qint64 networkBeforeNs = 0;
    LoadAverage load;

    MemoryEventHandler &handler = consumer.handler();
    handler.on(QLatin1String(CpuEvent), [&](const QVariant &value) {
        const QVariantMap map = value.toMap();
        consumer.count(map);
        cpu = { map.value(QStringLiteral("total")).toULongLong(),
                map.value(QStringLiteral("idle")).toULongLong() };
    });
    handler.on(QLatin1String(MemoryEvent), [&](const QVariant &value) {
        const QVariantMap map = value.toMap();
        consumer.count(map);
        memory = { map.value(QStringLiteral("total")).toULongLong(),
                   map.value(QStringLiteral("available")).toULongLong() };
    });
    handler.on(QLatin1String(NetworkEvent), [&](const QVariant &value) {
        const QVariantMap map = value.toMap();
        consumer.count(map);
        network = { map.value(QStringLiteral("received")).toULongLong(),
                    map.value(QStringLiteral("transmitted")).toULongLong() };
        networkNs = map.value(QLatin1String(SentNsKey)).toLongLong();
    });
    handler.on(QLatin1String(LoadEvent), [&](const QVariant &value) {
        const QVariantMap map = value.toMap();
        consumer.count(map);
        load = { map.value(QStringLiteral("one")).toDouble(),
                 map.value(QStringLiteral("five")).toDouble(),
                 map.value(QStringLiteral("fifteen")).toDouble() };
    });

    const auto summary = [&] {
        QString cpuText = QStringLiteral("-");
        const quint64 totalTicks = cpu.total - cpuBefore.total;
        if (cpuBefore.total > 0 && totalTicks > 0) {
            const double busy = 100.0 * double(totalTicks - (cpu.idle - cpuBefore.idle))
                    / double(totalTicks);
            cpuText = QStringLiteral("%1%").arg(busy, 5, 'f', 1);
        }
        QString networkText = QStringLiteral("-");
        if (networkBeforeNs > 0 && networkNs > networkBeforeNs) {
            const double seconds = double(networkNs - networkBeforeNs) / 1e9;
            networkText = QStringLiteral("rx %1 tx %2")
                                  .arg(formatRate(double(network.receivedBytes
                                                         - networkBefore.receivedBytes)
                                                  / seconds),
                                       formatRate(double(network.transmittedBytes
                                                         - networkBefore.transmittedBytes)
                                                  / seconds));
        }
        cpuBefore = cpu;
        networkBefore = network;
        networkBeforeNs = networkNs;

        return QStringLiteral("cpu busy %1 | memory used %2 of %3 | network %4 | load %5 | "
                              "%6 events")
                .arg(cpuText, formatBytes(double(memory.totalBytes - memory.availableBytes)),
                     formatBytes(double(memory.totalBytes)), networkText)
                .arg(load.oneMinute, 0, 'f', 2)
                .arg(consumer.received());
    };
    return consumer.run(summary);
}

int runTextConsumer(const QString &poolName, TerminationSignals &terminationSignals)
{
    Consumer consumer(poolName, QLatin1String(TextConsumerRole), QLatin1String(TextProducerRole),
                      terminationSignals);
    if (!consumer.isAttached()) {
        std::fprintf(stderr, "text-consumer: %s\n", qPrintable(consumer.errorString()));
        return 1;
    }

    static const QRegularExpression wordPattern(QStringLiteral("[A-Za-z][A-Za-z']*"));
    QHash<QString, qint64> wordCounts;
    qint64 words = 0;
    quint64 linesBefore = 0;
    consumer.handler().on(QLatin1String(LineEvent), [&](const QVariant &value) {
        const QVariantMap map = value.toMap();
        consumer.count(map);
        QRegularExpressionMatchIterator matches =
                wordPattern.globalMatch(map.value(QStringLiteral("line")).toString());
        while (matches.hasNext()) {
            const QString word = matches.next().captured().toLower();
            ++words;
            // Words of one to three letters are mostly articles and prepositions, so only the
            // longer ones compete for the top list.
            if (word.size() >= 4) {
                ++wordCounts[word];
            }
        }
    });

    const auto summary = [&] {
        QList<std::pair<qint64, QString>> ranking;
        ranking.reserve(wordCounts.size());
        for (auto it = wordCounts.cbegin(); it != wordCounts.cend(); ++it) {
            ranking.append({ it.value(), it.key() });
        }
        const qsizetype topCount = qMin<qsizetype>(5, ranking.size());
        std::partial_sort(ranking.begin(), ranking.begin() + topCount, ranking.end(),
                          [](const auto &a, const auto &b) {
                              return a.first != b.first ? a.first > b.first : a.second < b.second;
                          });
        QStringList top;
        for (qsizetype i = 0; i < topCount; ++i) {
            top.append(QStringLiteral("%1 %2").arg(ranking.at(i).second).arg(ranking.at(i).first));
        }

        const quint64 lines = consumer.received();
        const QString text = QStringLiteral("lines %1 (+%2 since the last summary) | words %3 | "
                                            "top words: %4")
                                     .arg(lines)
                                     .arg(lines - linesBefore)
                                     .arg(words)
                                     .arg(top.isEmpty() ? QStringLiteral("-")
                                                        : top.join(QStringLiteral(", ")));
        linesBefore = lines;
        return text;
    };
    return consumer.run(summary);
}

} // namespace demo
