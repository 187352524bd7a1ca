// SPDX-License-Identifier: MIT
//
// ZeroMQ peers: a PAIR socket on each end of an abstract-namespace ipc:// endpoint, with
// blocking zmq_send()/zmq_recv() calls and no event loop, through libzmq's C API.

#include "common.h"

#include <zmq.h>

#include <algorithm>

namespace bench {

namespace {

class Socket
{
public:
    Socket()
        : m_context(zmq_ctx_new())
        , m_socket(zmq_socket(m_context, ZMQ_PAIR))
    {
        // Queued messages may still leave for up to this long after close.
        const int lingerMs = 1000;
        zmq_setsockopt(m_socket, ZMQ_LINGER, &lingerMs, sizeof lingerMs);
    }

    ~Socket()
    {
        zmq_close(m_socket);
        zmq_ctx_term(m_context);
    }

    void *handle() const { return m_socket; }

private:
    void *m_context;
    void *m_socket;
};

QByteArray endpoint(const RoleOptions &options)
{
    return "ipc://@" + options.name.toUtf8();
}

QString lastError()
{
    return QString::fromLocal8Bit(zmq_strerror(zmq_errno()));
}

bool sendCounter(void *socket, qint64 counter)
{
    char frame[MessageSize] = {};
    writeCounter(frame, counter);
    return zmq_send(socket, frame, MessageSize, 0) == MessageSize;
}

int runEcho(void *socket, const RoleOptions &options)
{
    char frame[MessageSize];
    for (qint64 i = 0; i < options.warmup + options.roundTrips; ++i) {
        if (zmq_recv(socket, frame, MessageSize, 0) != MessageSize
            || zmq_send(socket, frame, MessageSize, 0) != MessageSize)
            return fail(options, QStringLiteral("echo failed: %1").arg(lastError()));
    }
    return 0;
}

int runSource(void *socket, const RoleOptions &options)
{
    char frame[MessageSize] = {};
    qint64 allowed = 0;
    qint64 sent = 0;
    bool stopped = false;
    // Blocks for credit only when none is left, then takes every credit frame already queued.
    const auto receiveCredit = [&](int flags) {
        char credit[MessageSize];
        while (zmq_recv(socket, credit, MessageSize, flags) == MessageSize) {
            const qint64 value = readCounter(credit);
            if (value == StopCredit) {
                stopped = true;
                return;
            }
            allowed = std::max(allowed, value);
            flags = ZMQ_DONTWAIT;
        }
    };
    while (!stopped) {
        if (sent >= allowed || sent == options.messages)
            receiveCredit(0);
        else
            receiveCredit(ZMQ_DONTWAIT);
        for (; !stopped && sent < allowed && sent < options.messages; ++sent) {
            writeCounter(frame, sent);
            if (zmq_send(socket, frame, MessageSize, 0) != MessageSize)
                return fail(options, QStringLiteral("send failed: %1").arg(lastError()));
        }
    }
    return 0;
}

int runPing(void *socket, const RoleOptions &options)
{
    const qint64 total = options.warmup + options.roundTrips;
    std::vector<qint64> roundTripNs;
    roundTripNs.reserve(size_t(options.roundTrips));
    char frame[MessageSize] = {};
    for (qint64 i = 0; i < total; ++i) {
        writeCounter(frame, i);
        const qint64 sentAtNs = nowNs();
        if (zmq_send(socket, frame, MessageSize, 0) != MessageSize
            || zmq_recv(socket, frame, MessageSize, 0) != MessageSize)
            return fail(options, QStringLiteral("round trip %1 failed: %2").arg(i).arg(lastError()));
        const qint64 roundTrip = nowNs() - sentAtNs;
        if (readCounter(frame) != i)
            return fail(options, QStringLiteral("reply %1 did not match its request").arg(i));
        if (i >= options.warmup)
            roundTripNs.push_back(roundTrip);
    }
    printLatencyResult(roundTripNs);
    return 0;
}

int runSink(void *socket, const RoleOptions &options)
{
    char frame[MessageSize];
    qint64 received = 0;
    qint64 firstNs = 0;
    qint64 lastNs = 0;
    if (!sendCounter(socket, Window))
        return fail(options, QStringLiteral("sending credit failed: %1").arg(lastError()));
    while (true) {
        if (zmq_recv(socket, frame, MessageSize, 0) != MessageSize)
            return fail(options, QStringLiteral("receive failed: %1").arg(lastError()));
        if (received == 0)
            firstNs = nowNs();
        ++received;
        if (received % CreditInterval != 0 && received != options.messages)
            continue;
        lastNs = nowNs();
        if (received == options.messages || lastNs - firstNs >= MaxThroughputNs)
            break;
        sendCounter(socket, received + Window);
    }
    sendCounter(socket, StopCredit);
    printThroughputResult(received, lastNs - firstNs);
    return 0;
}

} // namespace

int runZmq(const RoleOptions &options)
{
    Socket socket;
    const QByteArray address = endpoint(options);
    const bool server = options.role == Role::Echo || options.role == Role::Source;
    if (server) {
        if (zmq_bind(socket.handle(), address.constData()) != 0)
            return fail(options, QStringLiteral("cannot bind %1: %2")
                                     .arg(QString::fromUtf8(address), lastError()));
        printReady();
    } else if (zmq_connect(socket.handle(), address.constData()) != 0) {
        return fail(options, QStringLiteral("cannot connect to %1: %2")
                                 .arg(QString::fromUtf8(address), lastError()));
    }

    switch (options.role) {
    case Role::Echo:
        return runEcho(socket.handle(), options);
    case Role::Source:
        return runSource(socket.handle(), options);
    case Role::Ping:
        return runPing(socket.handle(), options);
    case Role::Sink:
        return runSink(socket.handle(), options);
    }
    return 1;
}

} // namespace bench
