// SPDX-License-Identifier: MIT
//
// iceoryx 2.0 peers (Debian's packages): a typed publisher and subscriber in each direction,
// registered with the iox-roudi daemon that the orchestrator starts, and a WaitSet for
// blocking. Subscribers block the producer instead of dropping when their queue is full.

#include "common.h"

#include <iceoryx_hoofs/log/logmanager.hpp>
#include <iceoryx_posh/popo/publisher.hpp>
#include <iceoryx_posh/popo/subscriber.hpp>
#include <iceoryx_posh/popo/wait_set.hpp>
#include <iceoryx_posh/runtime/posh_runtime.hpp>

#include <QCoreApplication>

#include <algorithm>
#include <chrono>
#include <thread>

namespace bench {

namespace {

struct Message
{
    char bytes[MessageSize];
};

using Publisher = iox::popo::Publisher<Message>;
using Subscriber = iox::popo::Subscriber<Message>;

constexpr qint64 ConnectTimeoutMs = 5000;

iox::capro::ServiceDescription service(const RoleOptions &options, const char *event)
{
    return {"MventBench", iox::capro::IdString_t(iox::cxx::TruncateToCapacity,
                                                 options.name.toStdString()),
            iox::capro::IdString_t(iox::cxx::TruncateToCapacity, event)};
}

// One publisher and one subscriber, and a WaitSet that wakes when the subscriber has data.
class Endpoint
{
public:
    Endpoint(const RoleOptions &options, const char *outgoing, const char *incoming)
        : m_publisher(service(options, outgoing), publisherOptions())
        , m_subscriber(service(options, incoming), subscriberOptions())
    {
        m_waitSet.attachState(m_subscriber, iox::popo::SubscriberState::HAS_DATA)
            .or_else([&](auto) { m_attachFailed = true; });
    }

    bool attached() const { return !m_attachFailed; }

    // Waits until both directions are connected to the peer's ports.
    bool waitForPeer()
    {
        const qint64 deadlineNs = nowNs() + ConnectTimeoutMs * 1000000;
        while (nowNs() < deadlineNs) {
            if (m_publisher.hasSubscribers()
                && m_subscriber.getSubscriptionState() == iox::SubscribeState::SUBSCRIBED)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return false;
    }

    bool send(const char *frame)
    {
        Message message;
        std::memcpy(message.bytes, frame, MessageSize);
        return !m_publisher.publishCopyOf(message).has_error();
    }

    bool sendCounter(qint64 counter)
    {
        char frame[MessageSize] = {};
        writeCounter(frame, counter);
        return send(frame);
    }

    // Copies the oldest received message into frame; false if none is queued.
    bool tryReceive(char *frame)
    {
        bool received = false;
        m_subscriber.take().and_then([&](const auto &sample) {
            std::memcpy(frame, sample->bytes, MessageSize);
            received = true;
        });
        return received;
    }

    void receive(char *frame)
    {
        while (!tryReceive(frame))
            m_waitSet.wait();
    }

private:
    static iox::popo::PublisherOptions publisherOptions()
    {
        iox::popo::PublisherOptions options;
        options.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
        return options;
    }

    static iox::popo::SubscriberOptions subscriberOptions()
    {
        iox::popo::SubscriberOptions options;
        options.queueCapacity = iox::MAX_SUBSCRIBER_QUEUE_CAPACITY;
        options.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
        return options;
    }

    Publisher m_publisher;
    Subscriber m_subscriber;
    iox::popo::WaitSet<> m_waitSet;
    bool m_attachFailed = false;
};

int runEcho(Endpoint &endpoint, const RoleOptions &options)
{
    char frame[MessageSize];
    for (qint64 i = 0; i < options.warmup + options.roundTrips; ++i) {
        endpoint.receive(frame);
        if (!endpoint.send(frame))
            return fail(options, QStringLiteral("publishing reply %1 failed").arg(i));
    }
    return 0;
}

int runPing(Endpoint &endpoint, const RoleOptions &options)
{
    const qint64 total = options.warmup + options.roundTrips;
    std::vector<qint64> roundTripNs;
    roundTripNs.reserve(size_t(options.roundTrips));
    char frame[MessageSize] = {};
    for (qint64 i = 0; i < total; ++i) {
        writeCounter(frame, i);
        const qint64 sentAtNs = nowNs();
        if (!endpoint.send(frame))
            return fail(options, QStringLiteral("publishing request %1 failed").arg(i));
        endpoint.receive(frame);
        const qint64 roundTrip = nowNs() - sentAtNs;
        if (readCounter(frame) != i)
            return fail(options, QStringLiteral("reply %1 did not match its request").arg(i));
        if (i >= options.warmup)
            roundTripNs.push_back(roundTrip);
    }
    printLatencyResult(roundTripNs);
    return 0;
}

int runSource(Endpoint &endpoint, const RoleOptions &options)
{
    char frame[MessageSize] = {};
    char credit[MessageSize];
    qint64 allowed = 0;
    qint64 sent = 0;
    // Returns false on the sink's stop credit.
    const auto applyCredit = [&] {
        const qint64 value = readCounter(credit);
        allowed = std::max(allowed, value);
        return value != StopCredit;
    };
    while (true) {
        // Blocks for credit only when none is left or everything is sent.
        if (sent >= allowed || sent == options.messages) {
            endpoint.receive(credit);
            if (!applyCredit())
                return 0;
        }
        while (endpoint.tryReceive(credit)) {
            if (!applyCredit())
                return 0;
        }
        for (; sent < allowed && sent < options.messages; ++sent) {
            writeCounter(frame, sent);
            if (!endpoint.send(frame))
                return fail(options, QStringLiteral("publishing message %1 failed").arg(sent));
        }
    }
}

int runSink(Endpoint &endpoint, const RoleOptions &options)
{
    char frame[MessageSize];
    qint64 received = 0;
    qint64 firstNs = 0;
    qint64 lastNs = 0;
    if (!endpoint.sendCounter(Window))
        return fail(options, QStringLiteral("publishing the first credit failed"));
    while (true) {
        endpoint.receive(frame);
        if (received == 0)
            firstNs = nowNs();
        ++received;
        if (received % CreditInterval != 0 && received != options.messages)
            continue;
        lastNs = nowNs();
        if (received == options.messages || lastNs - firstNs >= MaxThroughputNs)
            break;
        endpoint.sendCounter(received + Window);
    }
    endpoint.sendCounter(StopCredit);
    printThroughputResult(received, lastNs - firstNs);
    return 0;
}

} // namespace

int runIceoryx(const RoleOptions &options)
{
    const std::string runtimeName = QStringLiteral("mvent-bench-%1-%2")
                                        .arg(roleName(options.role))
                                        .arg(QCoreApplication::applicationPid())
                                        .toStdString();
    // iceoryx logs every segment registration at its default level, verbose.
    iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kWarn);
    iox::runtime::PoshRuntime::initRuntime(
        iox::RuntimeName_t(iox::cxx::TruncateToCapacity, runtimeName));

    const bool latency = options.role == Role::Echo || options.role == Role::Ping;
    const bool server = options.role == Role::Echo || options.role == Role::Source;
    // The server publishes replies or data, the client requests or credit.
    const char *serverToClient = latency ? "Pong" : "Data";
    const char *clientToServer = latency ? "Ping" : "Credit";
    Endpoint endpoint(options, server ? serverToClient : clientToServer,
                      server ? clientToServer : serverToClient);
    if (!endpoint.attached())
        return fail(options, QStringLiteral("attaching the subscriber to a WaitSet failed"));

    if (server) {
        printReady();
    } else if (!endpoint.waitForPeer()) {
        return fail(options, QStringLiteral("publisher and subscriber not connected within %1 ms")
                                 .arg(ConnectTimeoutMs));
    }

    switch (options.role) {
    case Role::Echo:
        return runEcho(endpoint, options);
    case Role::Ping:
        return runPing(endpoint, options);
    case Role::Source:
        return runSource(endpoint, options);
    case Role::Sink:
        return runSink(endpoint, options);
    }
    return 1;
}

} // namespace bench
