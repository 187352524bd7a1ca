// SPDX-License-Identifier: MIT
//
// mvent peers: a MemoryEventHandler on each end of one pool. With QueuedDelivery the handlers
// run on the main thread's event loop; with DirectDelivery they run on the notifier thread and
// publish the reply from there.

#include "common.h"

#include <memoryeventhandler.h>

#include <QCoreApplication>

#include <algorithm>
#include <atomic>

namespace bench {

namespace {

const QString PingEvent = QStringLiteral("bench.ping");
const QString PongEvent = QStringLiteral("bench.pong");
const QString DataEvent = QStringLiteral("bench.data");
const QString CreditEvent = QStringLiteral("bench.credit");

// Ends QCoreApplication::exec(); safe to call from the notifier thread.
void quitLater()
{
    QMetaObject::invokeMethod(QCoreApplication::instance(), &QCoreApplication::quit,
                              Qt::QueuedConnection);
}

int runEcho(mvent::MemoryEventHandler &handler, const RoleOptions &options)
{
    qint64 remaining = options.warmup + options.roundTrips;
    handler.on(PingEvent, [&](const QVariant &value) {
        handler.publish(PongEvent, value);
        if (--remaining == 0)
            quitLater();
    });
    printReady();
    return QCoreApplication::exec();
}

int runPing(mvent::MemoryEventHandler &handler, const RoleOptions &options)
{
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
        handler.publish(PingEvent, payload);
    };
    handler.on(PongEvent, [&](const QVariant &value) {
        const qint64 roundTrip = nowNs() - sentAtNs;
        const QByteArray reply = value.toByteArray();
        if (reply.size() != MessageSize || readCounter(reply.constData()) != completed) {
            corrupt = true;
            quitLater();
            return;
        }
        if (completed >= options.warmup)
            roundTripNs.push_back(roundTrip);
        if (++completed == total)
            quitLater();
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

// QueuedDelivery source: publishes from the credit handler, on the event loop.
int runQueuedSource(mvent::MemoryEventHandler &handler, const RoleOptions &options)
{
    QByteArray payload(MessageSize, 'd');
    qint64 allowed = 0;
    qint64 sent = 0;
    handler.on(CreditEvent, [&](const QVariant &value) {
        const qint64 credit = value.toLongLong();
        if (credit == StopCredit) {
            quitLater();
            return;
        }
        allowed = std::max(allowed, credit);
        while (sent < allowed && sent < options.messages) {
            writeCounter(payload.data(), sent);
            handler.publish(DataEvent, payload);
            ++sent;
        }
        if (sent == options.messages)
            quitLater();
    });
    printReady();
    return QCoreApplication::exec();
}

// DirectDelivery source: the credit handler runs on the notifier thread, so the main thread
// publishes in a loop and sleeps on the credit counter when it runs out.
int runDirectSource(mvent::MemoryEventHandler &handler, const RoleOptions &options)
{
    std::atomic<qint64> allowed = 0;
    std::atomic<bool> stopped = false;
    handler.on(CreditEvent, [&](const QVariant &value) {
        const qint64 credit = value.toLongLong();
        if (credit == StopCredit) {
            stopped.store(true);
            allowed.store(options.messages + 1);
        } else if (credit > allowed.load()) {
            allowed.store(credit); // only this thread writes allowed
        }
        allowed.notify_one();
    });
    printReady();

    QByteArray payload(MessageSize, 'd');
    qint64 sent = 0;
    while (sent < options.messages && !stopped.load(std::memory_order_relaxed)) {
        const qint64 limit = allowed.load(std::memory_order_acquire);
        if (sent >= limit) {
            allowed.wait(limit);
            continue;
        }
        writeCounter(payload.data(), sent);
        handler.publish(DataEvent, payload);
        ++sent;
    }
    return 0;
}

int runSink(mvent::MemoryEventHandler &handler, const RoleOptions &options)
{
    qint64 received = 0;
    qint64 firstNs = 0;
    qint64 lastNs = 0;
    bool finished = false;
    handler.on(DataEvent, [&](const QVariant &) {
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
            handler.publish(CreditEvent, StopCredit);
            quitLater();
            return;
        }
        handler.publish(CreditEvent, received + Window);
    });
    handler.publish(CreditEvent, Window);
    QCoreApplication::exec();
    const auto lost = qint64(handler.manager()->missedCount());
    printThroughputResult(received, lastNs - firstNs, lost);
    return 0;
}

} // namespace

int runMvent(const RoleOptions &options)
{
    const bool server = options.role == Role::Echo || options.role == Role::Source;
    mvent::MemoryEventHandler::Options handlerOptions;
    handlerOptions.delivery = options.transport == QLatin1String("mvent-direct")
                                  ? mvent::EventManager::DirectDelivery
                                  : mvent::EventManager::QueuedDelivery;
    handlerOptions.pool.openMode = server ? mvent::SharedMemoryPool::CreateOnly
                                          : mvent::SharedMemoryPool::AttachOnly;
    mvent::MemoryEventHandler handler(options.name, handlerOptions);
    if (!handler.isAttached())
        return fail(options, QStringLiteral("cannot open pool %1: %2")
                                 .arg(options.name, handler.errorString()));

    switch (options.role) {
    case Role::Echo:
        return runEcho(handler, options);
    case Role::Ping:
        return runPing(handler, options);
    case Role::Source:
        return handlerOptions.delivery == mvent::EventManager::DirectDelivery
                   ? runDirectSource(handler, options)
                   : runQueuedSource(handler, options);
    case Role::Sink:
        return runSink(handler, options);
    }
    return 1;
}

} // namespace bench
