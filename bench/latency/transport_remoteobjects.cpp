// SPDX-License-Identifier: MIT
//
// Qt Remote Objects peers over a "local:" URL (QLocalSocket underneath). The server end hosts
// a BenchLink source; the client end acquires a replica. Requests travel as slot calls on the
// replica and replies and data as signals of the source.

#include "common.h"

#include "rep_benchlink_replica.h"
#include "rep_benchlink_source.h"

#include <QCoreApplication>
#include <QRemoteObjectHost>
#include <QRemoteObjectNode>
#include <QTimer>
#include <QUrl>

#include <algorithm>
#include <memory>

namespace bench {

namespace {

// Queued data still has to leave the socket when the server decides to exit.
constexpr int QuitDelayMs = 200;

QUrl linkUrl(const RoleOptions &options)
{
    return QUrl(QStringLiteral("local:") + options.name);
}

class Link : public BenchLinkSimpleSource
{
public:
    explicit Link(const RoleOptions &options)
        : m_options(options)
        , m_remaining(options.warmup + options.roundTrips)
        , m_payload(MessageSize, 'd')
    {
    }

    void ping(QByteArray payload) override
    {
        Q_EMIT pong(payload);
        if (--m_remaining == 0)
            QTimer::singleShot(QuitDelayMs, QCoreApplication::instance(), &QCoreApplication::quit);
    }

    // Runs until the sink's stop credit, so that no data is left in a closed connection.
    void credit(qint64 allowed) override
    {
        if (allowed == StopCredit) {
            QCoreApplication::quit();
            return;
        }
        m_allowed = std::max(m_allowed, allowed);
        for (; m_sent < m_allowed && m_sent < m_options.messages; ++m_sent) {
            writeCounter(m_payload.data(), m_sent);
            Q_EMIT data(m_payload);
        }
    }

private:
    const RoleOptions &m_options;
    qint64 m_remaining;
    qint64 m_allowed = 0;
    qint64 m_sent = 0;
    QByteArray m_payload;
};

int runServer(const RoleOptions &options)
{
    Link link(options);
    QRemoteObjectHost host(linkUrl(options));
    if (host.lastError() != QRemoteObjectNode::NoError || !host.enableRemoting(&link))
        return fail(options, QStringLiteral("cannot host %1: error %2")
                                 .arg(linkUrl(options).toString())
                                 .arg(int(host.lastError())));
    printReady();
    return QCoreApplication::exec();
}

int runClient(const RoleOptions &options)
{
    QRemoteObjectNode node;
    if (!node.connectToNode(linkUrl(options)))
        return fail(options, QStringLiteral("cannot connect to %1").arg(linkUrl(options).toString()));
    std::unique_ptr<BenchLinkReplica> replica(node.acquire<BenchLinkReplica>());
    if (!replica->waitForSource(5000))
        return fail(options, QStringLiteral("replica of %1 not valid within 5 s")
                                 .arg(linkUrl(options).toString()));

    if (options.role == Role::Ping) {
        const qint64 total = options.warmup + options.roundTrips;
        std::vector<qint64> roundTripNs;
        roundTripNs.reserve(size_t(options.roundTrips));
        QByteArray payload(MessageSize, 'p');
        qint64 completed = 0;
        qint64 sentAtNs = 0;
        bool corrupt = false;
        const auto sendPing = [&] {
            writeCounter(payload.data(), completed);
            sentAtNs = nowNs();
            replica->ping(payload);
        };
        QObject::connect(replica.get(), &BenchLinkReplica::pong, [&](const QByteArray &reply) {
            const qint64 roundTrip = nowNs() - sentAtNs;
            if (reply.size() != MessageSize || readCounter(reply.constData()) != completed) {
                corrupt = true;
                QCoreApplication::quit();
                return;
            }
            if (completed >= options.warmup)
                roundTripNs.push_back(roundTrip);
            if (++completed == total)
                QCoreApplication::quit();
            else
                sendPing();
        });
        sendPing();
        QCoreApplication::exec();
        if (corrupt)
            return fail(options, QStringLiteral("reply %1 did not match its request").arg(completed));
        printLatencyResult(roundTripNs);
        return 0;
    }

    qint64 received = 0;
    qint64 firstNs = 0;
    qint64 lastNs = 0;
    bool finished = false;
    QObject::connect(replica.get(), &BenchLinkReplica::data, [&](const QByteArray &) {
        if (finished)
            return;
        if (received == 0)
            firstNs = nowNs();
        ++received;
        if (received % CreditInterval != 0 && received != options.messages)
            return;
        lastNs = nowNs();
        if (received == options.messages || lastNs - firstNs >= MaxThroughputNs) {
            finished = true;
            replica->credit(StopCredit);
            // The stop request is written by the event loop, so quit only after one more pass.
            QTimer::singleShot(QuitDelayMs, QCoreApplication::instance(), &QCoreApplication::quit);
            return;
        }
        replica->credit(received + Window);
    });
    replica->credit(Window);
    QCoreApplication::exec();
    printThroughputResult(received, lastNs - firstNs);
    return 0;
}

} // namespace

int runRemoteObjects(const RoleOptions &options)
{
    if (options.role == Role::Echo || options.role == Role::Source)
        return runServer(options);
    return runClient(options);
}

} // namespace bench
