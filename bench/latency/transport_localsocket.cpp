// SPDX-License-Identifier: MIT
//
// QLocalSocket peers (a Unix stream socket) with a Qt event loop on both ends. Every frame is
// MessageSize bytes; the reverse direction of a throughput run carries credit frames. Writers
// call flush() after each burst so that a reply leaves without another event loop pass.

#include "common.h"

#include <QCoreApplication>
#include <QLocalServer>
#include <QLocalSocket>

#include <algorithm>

namespace bench {

namespace {

void writeFrame(QLocalSocket *socket, qint64 counter)
{
    char frame[MessageSize] = {};
    writeCounter(frame, counter);
    socket->write(frame, MessageSize);
}

int runServer(const RoleOptions &options)
{
    QLocalServer::removeServer(options.name);
    QLocalServer server;
    if (!server.listen(options.name))
        return fail(options, QStringLiteral("cannot listen on %1: %2")
                                 .arg(options.name, server.errorString()));

    qint64 remaining = options.warmup + options.roundTrips;
    qint64 allowed = 0;
    qint64 sent = 0;
    QObject::connect(&server, &QLocalServer::newConnection, [&] {
        QLocalSocket *socket = server.nextPendingConnection();
        QObject::connect(socket, &QLocalSocket::disconnected, QCoreApplication::instance(),
                         &QCoreApplication::quit);
        QObject::connect(socket, &QLocalSocket::readyRead, socket, [&, socket] {
            char frame[MessageSize];
            while (socket->bytesAvailable() >= MessageSize) {
                socket->read(frame, MessageSize);
                if (options.role == Role::Echo) {
                    socket->write(frame, MessageSize);
                    --remaining;
                    continue;
                }
                const qint64 credit = readCounter(frame);
                if (credit == StopCredit) {
                    QCoreApplication::quit();
                    return;
                }
                allowed = std::max(allowed, credit);
            }
            if (options.role == Role::Source) {
                for (; sent < allowed && sent < options.messages; ++sent)
                    writeFrame(socket, sent);
            }
            socket->flush();
            // A source waits for the stop credit instead: if it closed first, the sink's next
            // credit write would fail with EPIPE and QLocalSocket would drop the unread data.
            if (options.role == Role::Echo && remaining == 0) {
                while (socket->bytesToWrite() > 0 && socket->waitForBytesWritten(1000)) {
                }
                QCoreApplication::quit();
            }
        });
    });
    printReady();
    return QCoreApplication::exec();
}

bool connectClient(QLocalSocket &socket, const RoleOptions &options)
{
    socket.connectToServer(options.name);
    if (socket.waitForConnected(5000))
        return true;
    fail(options, QStringLiteral("cannot connect to %1: %2").arg(options.name, socket.errorString()));
    return false;
}

int runPing(const RoleOptions &options)
{
    QLocalSocket socket;
    if (!connectClient(socket, options))
        return 1;

    const qint64 total = options.warmup + options.roundTrips;
    std::vector<qint64> roundTripNs;
    roundTripNs.reserve(size_t(options.roundTrips));
    qint64 completed = 0;
    qint64 sentAtNs = 0;
    bool corrupt = false;
    const auto sendPing = [&] {
        sentAtNs = nowNs();
        writeFrame(&socket, completed);
        socket.flush();
    };
    QObject::connect(&socket, &QLocalSocket::readyRead, [&] {
        char frame[MessageSize];
        while (socket.bytesAvailable() >= MessageSize) {
            socket.read(frame, MessageSize);
            const qint64 roundTrip = nowNs() - sentAtNs;
            if (readCounter(frame) != completed) {
                corrupt = true;
                QCoreApplication::quit();
                return;
            }
            if (completed >= options.warmup)
                roundTripNs.push_back(roundTrip);
            if (++completed == total) {
                QCoreApplication::quit();
                return;
            }
            sendPing();
        }
    });
    sendPing();
    QCoreApplication::exec();
    if (corrupt)
        return fail(options, QStringLiteral("reply %1 did not match its request").arg(completed));
    printLatencyResult(roundTripNs);
    return 0;
}

int runSink(const RoleOptions &options)
{
    QLocalSocket socket;
    if (!connectClient(socket, options))
        return 1;

    qint64 received = 0;
    qint64 firstNs = 0;
    qint64 lastNs = 0;
    bool finished = false;
    QObject::connect(&socket, &QLocalSocket::readyRead, [&] {
        char frame[MessageSize];
        while (!finished && socket.bytesAvailable() >= MessageSize) {
            socket.read(frame, MessageSize);
            if (received == 0)
                firstNs = nowNs();
            ++received;
            if (received % CreditInterval != 0 && received != options.messages)
                continue;
            lastNs = nowNs();
            if (received == options.messages || lastNs - firstNs >= MaxThroughputNs) {
                finished = true;
                writeFrame(&socket, StopCredit);
                socket.flush();
                QCoreApplication::quit();
                return;
            }
            writeFrame(&socket, received + Window);
            socket.flush();
        }
    });
    writeFrame(&socket, Window);
    socket.flush();
    QCoreApplication::exec();
    printThroughputResult(received, lastNs - firstNs);
    return 0;
}

} // namespace

int runLocalSocket(const RoleOptions &options)
{
    switch (options.role) {
    case Role::Echo:
    case Role::Source:
        return runServer(options);
    case Role::Ping:
        return runPing(options);
    case Role::Sink:
        return runSink(options);
    }
    return 1;
}

} // namespace bench
