// SPDX-License-Identifier: MIT
#include "memoryeventhandler.h"

#include "clock_p.h"
#include "deletionprobe_p.h"
#include "logging_p.h"
#include "statsblock_p.h"
#include "memoryeventhandler_p.h"

#include <QHash>
#include <QMetaMethod>
#include <QMutex>
#include <QThread>

#include <algorithm>
#include <exception>

namespace mvent {

namespace {

struct Handler
{
    int id = 0;
    MemoryEventHandler::Callback callback;
    // Figures of this handler, "<event>#<id>", in the manager's stats block; null without one.
    layout::StatsRecord *stats = nullptr;
    // Set for a receiver other than the MemoryEventHandler itself; calls go through it.
    std::shared_ptr<HandlerRelay> relay;
};

} // namespace

class MemoryEventHandlerPrivate
{
public:
    MemoryEventHandlerPrivate(MemoryEventHandler *owner, const QString &poolName,
                              const MemoryEventHandler::Options &options)
        : q(owner)
        , manager(new EventManager(poolName, options, owner))
        , direct(options.delivery == EventManager::DirectDelivery)
    {
    }

    int add(const QString &name, QObject *context, MemoryEventHandler::Callback callback);
    // receivedNs, when not 0, is a clock reading taken just before, which the first handler's
    // duration starts from.
    void dispatch(const QString &name, const QVariant &value, qint64 receivedNs);
    // True if the handler with id is still registered for name.
    bool isRegistered(const QString &name, int id)
    {
        QMutexLocker locker(&mutex);
        const QList<Handler> registered = handlers.value(name);
        return std::any_of(registered.cbegin(), registered.cend(),
                           [id](const Handler &handler) { return handler.id == id; });
    }
    // Calls callback and records its duration from startedNs, or from now if startedNs is 0.
    // probe is a DeletionProbe of q on the caller's stack, which reports whether the callback
    // deleted this handler. Returns the time it finished, or 0 without stats.
    qint64 invoke(const DeletionProbe &probe, const MemoryEventHandler::Callback &callback,
                  layout::StatsRecord *stats, const QString &name, const QVariant &value,
                  qint64 startedNs = 0);

    // Lets queued calls that arrive after this object is gone find that out. Calls hold the
    // mutex while they run, so the destructor waits for a running one.
    struct Alive
    {
        QRecursiveMutex mutex; // a handler may delete the MemoryEventHandler it runs for
        MemoryEventHandlerPrivate *d = nullptr;
    };
    std::shared_ptr<Alive> alive = std::make_shared<Alive>();

    MemoryEventHandler *q;
    EventManager *manager;
    bool direct;

    // Read on the delivery thread, which is the notifier thread with DirectDelivery.
    QMutex mutex;
    QHash<QString, QList<Handler>> handlers;
    int nextId = 1;
    std::atomic<quint64> generation = 1; // increases with every change of handlers

    // Delivery-thread cache of the handlers of the last event name.
    quint64 cachedGeneration = 0;
    QString cachedName;
    QList<Handler> cachedHandlers;
    std::atomic<quint64> errors = 0;
};

int MemoryEventHandlerPrivate::add(const QString &name, QObject *context,
                                   MemoryEventHandler::Callback callback)
{
    Handler handler;
    handler.callback = std::move(callback);
    {
        QMutexLocker locker(&mutex);
        handler.id = nextId++;
    }
    if (StatsWriter *writer = statsWriterOf(manager)) {
        handler.stats = writer->record(layout::StatsHandler,
                                       (name + QLatin1Char('#') + QString::number(handler.id)).toUtf8());
    }
    if (context && context != q) {
        handler.relay = std::make_shared<HandlerRelay>();
        // The relay lives in this thread; the connection's context decides where the call runs.
        const std::weak_ptr<Alive> weakAlive = alive;
        QObject::connect(handler.relay.get(), &HandlerRelay::deliver, context,
                         [weakAlive, callback = handler.callback, stats = handler.stats](
                                 const QString &eventName, const QVariant &value) {
                             const std::shared_ptr<Alive> owner = weakAlive.lock();
                             QMutexLocker locker(owner ? &owner->mutex : nullptr);
                             if (owner && owner->d) {
                                 const DeletionProbe probe(owner->d->q);
                                 owner->d->invoke(probe, callback, stats, eventName, value);
                             }
                         });
    }
    {
        QMutexLocker locker(&mutex);
        handlers[name].append(handler);
        generation.fetch_add(1, std::memory_order_release);
    }
    manager->subscribe(name);
    if (context && context != q) {
        const int id = handler.id;
        QObject::connect(context, &QObject::destroyed, q, [this, id] { q->off(id); });
    }
    return handler.id;
}

qint64 MemoryEventHandlerPrivate::invoke(const DeletionProbe &probe,
                                         const MemoryEventHandler::Callback &callback,
                                         layout::StatsRecord *stats, const QString &name,
                                         const QVariant &value, qint64 startedNs)
{
    qint64 started = startedNs;
    if (stats && started == 0) {
        started = monotonicNs();
    }
    bool failed = false;
    QString message;
    try {
        callback(value);
    } catch (const std::exception &exception) {
        failed = true;
        message = QString::fromLocal8Bit(exception.what());
    } catch (...) {
        failed = true;
        message = QStringLiteral("exception of unknown type");
    }
    if (failed) {
        qCWarning(lcEvent, "handler of event %s threw: %s", qPrintable(name), qPrintable(message));
    }
    // The callback may have deleted this handler or closed its pool, whose segment contains
    // the stats record. Touch neither then.
    if (probe.isDeleted()) {
        return 0;
    }
    if (failed) {
        errors.fetch_add(1, std::memory_order_relaxed);
        Q_EMIT q->handlerFailed(name, message);
        if (probe.isDeleted()) {
            return 0;
        }
    }
    qint64 finished = 0;
    if (stats && manager->isAttached()) {
        finished = monotonicNs();
        StatsWriter::count(stats, 0, finished);
        StatsWriter::addDuration(stats, finished - started);
        if (failed) {
            stats->errors.fetch_add(1, std::memory_order_relaxed);
        }
        if (StatsWriter *writer = statsWriterOf(manager); writer && writer->block()) {
            writer->block()->handlerCalls.fetch_add(1, std::memory_order_relaxed);
            if (failed) {
                writer->block()->handlerErrors.fetch_add(1, std::memory_order_relaxed);
            }
        }
    }
    return finished;
}

void MemoryEventHandlerPrivate::dispatch(const QString &name, const QVariant &value,
                                         qint64 receivedNs)
{
    const quint64 currentGeneration = generation.load(std::memory_order_acquire);
    if (cachedGeneration != currentGeneration || cachedName != name) {
        QMutexLocker locker(&mutex);
        cachedGeneration = currentGeneration;
        cachedName = name;
        cachedHandlers = handlers.value(name);
    }
    const QList<Handler> targets = cachedHandlers; // a handler may change the table
    // Handlers called here one after another share clock reads: each one's time starts when
    // the previous one finished, and the first one's at the manager's reading.
    qint64 startedNs = receivedNs;
    const DeletionProbe probe(q);
    for (const Handler &handler : targets) {
        // A handler may have removed later ones with off() or cleanup(), so skip those.
        if (generation.load(std::memory_order_acquire) != currentGeneration
            && !isRegistered(name, handler.id)) {
            continue;
        }
        if (handler.relay) {
            // Direct or queued by the receiver's thread, as for any signal.
            Q_EMIT handler.relay->deliver(name, value);
            startedNs = 0;
        } else {
            startedNs = invoke(probe, handler.callback, handler.stats, name, value, startedNs);
        }
        if (probe.isDeleted()) {
            return;
        }
    }
    Q_EMIT q->eventReceived(name, value);
}

MemoryEventHandler::MemoryEventHandler(const QString &poolName, QObject *parent)
    : MemoryEventHandler(poolName, Options(), parent)
{
}

MemoryEventHandler::MemoryEventHandler(const QString &poolName, const Options &options,
                                       QObject *parent)
    : QObject(parent)
    , d(std::make_unique<MemoryEventHandlerPrivate>(this, poolName, options))
{
    d->alive->d = d.get();
    d->manager->setRecordHandler([this](const QString &name, const QVariant &value,
                                        const EventManager::EventInfo &info) {
        d->dispatch(name, value, info.receivedNs);
    });
    connect(d->manager, &EventManager::eventsMissed, this, &MemoryEventHandler::eventsMissed,
            Qt::DirectConnection);
}

MemoryEventHandler::~MemoryEventHandler()
{
    DeletionProbe::objectDeleted(this);
    // Stop delivery before the handler table goes away.
    d->manager->cleanup();
    QMutexLocker locker(&d->alive->mutex);
    d->alive->d = nullptr;
}

QString MemoryEventHandler::poolName() const
{
    return d->manager->poolName();
}

bool MemoryEventHandler::isAttached() const
{
    return d->manager->isAttached();
}

int MemoryEventHandler::on(const QString &name, Callback callback)
{
    return d->add(name, this, std::move(callback));
}

int MemoryEventHandler::on(const QString &name, QObject *context, Callback callback)
{
    return d->add(name, context ? context : this, std::move(callback));
}

void MemoryEventHandler::off(int id)
{
    QString emptied;
    {
        QMutexLocker locker(&d->mutex);
        for (auto it = d->handlers.begin(); it != d->handlers.end(); ++it) {
            const qsizetype removed = it->removeIf([id](const Handler &h) { return h.id == id; });
            if (removed && it->isEmpty()) {
                emptied = it.key();
                d->handlers.erase(it);
                break;
            }
            if (removed) {
                break;
            }
        }
        d->generation.fetch_add(1, std::memory_order_release);
    }
    if (!emptied.isNull()) {
        d->manager->unsubscribe(emptied);
    }
}

void MemoryEventHandler::off(const QString &name)
{
    {
        QMutexLocker locker(&d->mutex);
        d->handlers.remove(name);
        d->generation.fetch_add(1, std::memory_order_release);
    }
    d->manager->unsubscribe(name);
}

bool MemoryEventHandler::publish(const QString &name, const QVariant &value, qint64 ttlMs)
{
    return d->manager->publish(name, value, ttlMs);
}

QVariant MemoryEventHandler::lastValue(const QString &name, const QVariant &defaultValue) const
{
    return d->manager->lastValue(name, defaultValue);
}

void MemoryEventHandler::cleanup()
{
    d->manager->cleanup();
    QMutexLocker locker(&d->mutex);
    d->handlers.clear();
    d->generation.fetch_add(1, std::memory_order_release);
}

quint64 MemoryEventHandler::handlerErrorCount() const
{
    return d->errors.load(std::memory_order_relaxed);
}

EventManager *MemoryEventHandler::manager() const
{
    return d->manager;
}

SharedMemoryPool::Error MemoryEventHandler::error() const
{
    return d->manager->error();
}

QString MemoryEventHandler::errorString() const
{
    return d->manager->errorString();
}

void MemoryEventHandler::connectNotify(const QMetaMethod &signal)
{
    if (signal == QMetaMethod::fromSignal(&MemoryEventHandler::eventReceived)) {
        d->manager->subscribeAll();
    }
}

} // namespace mvent
