// SPDX-License-Identifier: MIT
#include "eventmanager.h"

#include "clock_p.h"
#include "deletionprobe_p.h"
#include "attachment_p.h"
#include "doorbell_p.h"
#include "errorstate_p.h"
#include "logging_p.h"
#include "notifier_p.h"
#include "pool_p.h"
#include "statsblock_p.h"
#include "runtimedir_p.h"

#include <QMutex>
#include <QSet>
#include <QThread>

#include <unordered_map>

namespace mvent {

class EventManagerPrivate
{
public:
    EventManagerPrivate(EventManager *owner, const QString &name, const EventManager::Options &opts)
        : q(owner)
        , poolName(name)
        , options(opts)
    {
    }

    bool open();
    void close();
    void handleDestroyed();
    // Per-thread cache of publish(): the last event name, encoded, and its stats record.
    struct PublishCache
    {
        quint64 serial = 0; // serial of the manager, or 0 when name failed to encode
        QString name;
        QByteArray utf8;
        layout::StatsRecord *record = nullptr;
    };
    const PublishCache &publishCacheFor(const QString &name, PoolError *failure);
    void recordPublished(layout::StatsRecord *record, quint64 bytes, qint64 nowNs);
    void updateFilter();
    // Fails with InvalidOptions if this manager has no slot and so cannot receive subject.
    bool canReceive(const QString &subject) const
    {
        if (pool && !notifier) {
            return fail({SharedMemoryPool::InvalidOptions,
                         QStringLiteral("cannot subscribe to %1 on pool '%2': this manager was "
                                        "opened with useProcessSlot false, so it can only publish")
                                 .arg(subject, poolName)});
        }
        return true;
    }
    void onRecord(const LogRecord &record);
    bool fail(const PoolError &failure) const { return errors.fail(failure); }
    void succeed() const { errors.succeed(); }

    EventManager *q;
    QString poolName;
    EventManager::Options options;
    Attachment attachment;
    // References into the attachment, under the names the rest of this file uses.
    std::unique_ptr<Pool> &pool = attachment.pool;
    std::unique_ptr<Notifier> &notifier = attachment.notifier;

    // Read on the delivery thread, changed on the manager's thread.
    mutable QMutex subscriptionMutex;
    QSet<QByteArray> names;
    bool all = false;
    std::shared_ptr<const EventManager::RecordHandler> handler;
    std::atomic<quint64> subscriptionGeneration = 1; // increases with every change above

    // Delivery-thread state of one event name. A stream of records then skips the lock, the
    // set lookup, the UTF-8 conversion and the stats lookup.
    struct NameEntry
    {
        QString name;
        bool accepted = false;
        std::shared_ptr<const EventManager::RecordHandler> handler;
        layout::StatsRecord *receivedRecord = nullptr;
    };
    // Delivery-thread cache of names, dropped whenever the subscriptions change. As the log
    // reader's filter, it also selects the records whose values are copied.
    class NameCache : public RecordFilter
    {
    public:
        explicit NameCache(EventManagerPrivate *owner) : d(owner) { }
        bool accepts(quint32 kind, QByteArrayView name) override
        {
            return kind == RecordEvent && entryFor(name)->accepted;
        }
        const NameEntry *entryFor(QByteArrayView name);

    private:
        struct Hash
        {
            using is_transparent = void;
            size_t operator()(QByteArrayView bytes) const { return qHash(bytes); }
        };
        EventManagerPrivate *d;
        quint64 generation = 0;
        std::unordered_map<QByteArray, NameEntry, Hash, std::equal_to<>> entries;
        // The entry found last. The record the reader returns is the one it filtered last.
        const QByteArray *lastName = nullptr;
        const NameEntry *lastEntry = nullptr;
    } cache{this};
    // Distinguishes managers in the per-thread cache of publish(), where addresses can repeat.
    const quint64 serial = nextSerial.fetch_add(1, std::memory_order_relaxed);
    static inline std::atomic<quint64> nextSerial = 1;

    // Rate limit of the missed-events warning; touched on the delivery thread only.
    quint64 unloggedMissed = 0;
    qint64 lastMissedLogNs = 0;

    bool destroyedReported = false;
    std::atomic<quint64> received = 0;
    std::atomic<quint64> published = 0;
    std::atomic<quint64> missed = 0;

    ErrorState errors;
};

bool EventManagerPrivate::open()
{
    PoolError failure;
    const bool useSlot = options.pool.useProcessSlot;
    if (!attachment.open(poolName, options.pool, useSlot, &failure)) {
        errors.setOpenFailure(failure.message);
        return fail(failure);
    }
    errors.setOpenFailure(QString());
    if (!useSlot) {
        // Publishing needs no slot, but receiving does, so subscribe() reports an error.
        attachment.startMaintenance(q, [] { }, [this] { handleDestroyed(); });
        succeed();
        Q_EMIT q->attachedChanged(true);
        return true;
    }

    Notifier::Callbacks callbacks;
    callbacks.record = [this](const LogRecord &record) { onRecord(record); };
    callbacks.missed = [this](quint64 count) {
        missed.fetch_add(count, std::memory_order_relaxed);
        if (StatsWriter *writer = pool->statsWriter(); writer && writer->block()) {
            writer->block()->missed.fetch_add(count, std::memory_order_relaxed);
        }
        // A flood overruns a slow reader again and again; one line a second is enough, and
        // writing more would slow the reader further.
        unloggedMissed += count;
        const qint64 now = monotonicNs();
        if (now - lastMissedLogNs >= 1000000000) {
            qCWarning(lcEvent, "pool %s: %llu events were overwritten before this process read them",
                      qPrintable(poolName), unloggedMissed);
            unloggedMissed = 0;
            lastMissedLogNs = now;
        }
        Q_EMIT q->eventsMissed(count);
    };
    callbacks.destroyed = [this] {
        QMetaObject::invokeMethod(q, [this] { handleDestroyed(); }, Qt::QueuedConnection);
    };
    callbacks.filter = &cache;
    const Notifier::Mode mode = options.delivery == EventManager::DirectDelivery
            ? Notifier::ThreadMode
            : Notifier::EventLoopMode;
    attachment.createNotifier(q, mode, std::move(callbacks), options.maxSpinMicroseconds);
    updateFilter();

    attachment.startMaintenance(q, [this] {
        if (!notifier) {
            return;
        }
        if (StatsWriter *writer = pool->statsWriter(); writer && writer->block()) {
            writer->block()->lag.store(notifier->lag(), std::memory_order_relaxed);
        }
        notifier->deliverPending();
    }, [this] { handleDestroyed(); });
    succeed();
    Q_EMIT q->attachedChanged(true);
    return true;
}

const EventManagerPrivate::PublishCache &EventManagerPrivate::publishCacheFor(const QString &name,
                                                                            PoolError *failure)
{
    // publish() runs on any thread, so each thread caches the encoded name of its last event
    // and that name's stats record.
    thread_local PublishCache cache;
    if (cache.serial != serial || cache.name != name) {
        cache.serial = 0;
        const std::optional<QByteArray> encoded = Pool::encodeKey(name, failure);
        if (!encoded) {
            return cache;
        }
        cache.name = name;
        cache.utf8 = *encoded;
        StatsWriter *writer = pool->statsWriter();
        cache.record = writer ? writer->record(layout::StatsEventPublished, cache.utf8) : nullptr;
        cache.serial = serial;
    }
    return cache;
}

void EventManagerPrivate::recordPublished(layout::StatsRecord *record, quint64 bytes, qint64 nowNs)
{
    StatsWriter *writer = pool->statsWriter();
    if (!writer || !writer->block()) {
        return;
    }
    StatsWriter::count(record, bytes, nowNs);
    writer->block()->published.fetch_add(1, std::memory_order_relaxed);
    writer->block()->bytesOut.fetch_add(bytes, std::memory_order_relaxed);
}

void EventManagerPrivate::handleDestroyed()
{
    // Both the notifier and the maintenance tick report it.
    if (!pool || destroyedReported) {
        return;
    }
    destroyedReported = true;
    // The mapping stays until close(), because other threads may be inside publish(), which
    // now fails with PoolDestroyed.
    attachment.stopBackground();
    fail({SharedMemoryPool::PoolDestroyed, QStringLiteral("pool '%1' was destroyed").arg(poolName)});
    Q_EMIT q->attachedChanged(false);
    Q_EMIT q->poolDestroyed();
    Q_EMIT q->errorOccurred(SharedMemoryPool::PoolDestroyed);
}

void EventManagerPrivate::close()
{
    const bool wasOpen = attachment.isOpen();
    attachment.close();
    if (wasOpen) {
        Q_EMIT q->attachedChanged(false);
    }
}

void EventManagerPrivate::updateFilter()
{
    if (!pool || !notifier) {
        return;
    }
    // Computed and stored under the lock, so that concurrent subscribe() calls cannot store an
    // older filter last.
    quint64 filter = 0;
    layout::ProcessSlot *slot = pool->processes()->slot(quint32(pool->slotIndex()));
    {
        QMutexLocker locker(&subscriptionMutex);
        if (all) {
            filter = ~quint64(0);
        } else {
            for (const QByteArray &name : std::as_const(names)) {
                filter |= ProcessTable::eventFilterBit(name);
            }
        }
        slot->eventFilter.store(filter, std::memory_order_release);
    }
    if (filter) {
        slot->listening.fetch_or(layout::ListenEvents, std::memory_order_release);
        // Delivery starts with the first subscription, from the moment the slot was claimed:
        // other processes see this manager as attached from then on, so an event they publish
        // after that reaches a subscription made right after construction.
        if (QThread::currentThread() == q->thread()) {
            notifier->start(pool->attachCursor());
        } else {
            // The socket notifier of queued delivery must live in the manager's thread.
            QMetaObject::invokeMethod(q, [this] {
                if (notifier) {
                    notifier->start(pool->attachCursor());
                }
            }, Qt::QueuedConnection);
        }
    }
}

const EventManagerPrivate::NameEntry *EventManagerPrivate::NameCache::entryFor(QByteArrayView name)
{
    const quint64 current = d->subscriptionGeneration.load(std::memory_order_acquire);
    if (current != generation) {
        generation = current;
        entries.clear();
        lastName = nullptr;
        lastEntry = nullptr;
    } else if (lastName && *lastName == name) {
        return lastEntry;
    }
    auto found = entries.find(name);
    if (found == entries.end()) {
        // Names come from other processes and are not bounded, so the cache is kept small.
        if (entries.size() >= 4096) {
            entries.clear();
        }
        NameEntry entry;
        QMutexLocker locker(&d->subscriptionMutex);
        const QByteArray utf8 = name.toByteArray();
        entry.accepted = d->all || d->names.contains(utf8);
        if (entry.accepted) {
            entry.name = QString::fromUtf8(utf8);
            entry.handler = d->handler;
            StatsWriter *writer = d->pool ? d->pool->statsWriter() : nullptr;
            entry.receivedRecord = writer ? writer->record(layout::StatsEventReceived, utf8)
                                          : nullptr;
        }
        found = entries.emplace(utf8, std::move(entry)).first;
    }
    lastName = &found->first;
    lastEntry = &found->second;
    return lastEntry;
}

void EventManagerPrivate::onRecord(const LogRecord &record)
{
    if (record.kind != RecordEvent) {
        return;
    }
    const NameEntry *entry = cache.entryFor(record.name);
    if (!entry->accepted) {
        return;
    }
    received.fetch_add(1, std::memory_order_relaxed);
    // Read the clock once the value is decoded: the delivery latency then ends when handlers
    // can run, and the first handler's duration can start from the same reading.
    const QVariant value = ValueCodec::decode(record.value, record.encoding);
    const qint64 now = monotonicNs();
    if (entry->receivedRecord) {
        StatsWriter::count(entry->receivedRecord, quint64(record.value.size()), now);
        StatsWriter::addDuration(entry->receivedRecord, now - record.timeNs);
        layout::StatsBlockHeader *block = pool->statsWriter()->block();
        block->received.fetch_add(1, std::memory_order_relaxed);
        block->bytesIn.fetch_add(quint64(record.value.size()), std::memory_order_relaxed);
    }
    // The handler may change subscriptions and so drop the cache, so copy what this call needs.
    const QString name = entry->name;
    if (const std::shared_ptr<const EventManager::RecordHandler> handler = entry->handler;
        handler && *handler) {
        const DeletionProbe probe(q);
        (*handler)(name, value, {record.sequence, record.timeNs, record.pid, now});
        if (probe.isDeleted()) {
            return;
        }
    }
    Q_EMIT q->eventReceived(name, value);
}

EventManager::EventManager(const QString &poolName, QObject *parent)
    : EventManager(poolName, Options(), parent)
{
}

EventManager::EventManager(const QString &poolName, const Options &options, QObject *parent)
    : QObject(parent)
    , d(std::make_unique<EventManagerPrivate>(this, poolName, options))
{
    d->open();
}

EventManager::~EventManager()
{
    DeletionProbe::objectDeleted(this);
    d->attachment.close();    // joins the notifier thread before anything it uses goes away
}

QString EventManager::poolName() const
{
    return d->poolName;
}

bool EventManager::isAttached() const
{
    return d->pool != nullptr && !d->pool->isDestroyed();
}

EventManager::Options EventManager::options() const
{
    return d->options;
}

bool EventManager::publish(const QString &name, const QVariant &value, qint64 ttlMs)
{
    if (const QString problem = ttlProblem(ttlMs, QStringLiteral("event '%1'").arg(name));
        !problem.isEmpty()) {
        return d->fail({SharedMemoryPool::InvalidOptions, problem});
    }
    if (!d->pool) {
        return d->errors.failNotAttached(d->poolName);
    }
    if (d->pool->isDestroyed()) {
        return d->fail({SharedMemoryPool::PoolDestroyed,
                        QStringLiteral("cannot publish event '%1': pool '%2' was destroyed")
                                .arg(name, d->poolName)});
    }
    QString message;
    const std::optional<EncodedValue> encoded = ValueCodec::encode(value, &message);
    if (!encoded) {
        return d->fail({SharedMemoryPool::UnsupportedType,
                        QStringLiteral("cannot publish event '%1': %2").arg(name, message)});
    }
    PoolError failure;
    const EventManagerPrivate::PublishCache &cache = d->publishCacheFor(name, &failure);
    if (cache.serial == 0) {
        return d->fail(failure);
    }
    // No other publish() runs on this thread before this one returns, so the cache stays put.
    const QByteArray &utf8 = cache.utf8;
    layout::StatsRecord *const statsRecord = cache.record;
    const qint64 expiresMs = expiryFor(ttlMs);
    qint64 sentNs = 0;
    if (!d->pool->publishEvent(utf8, *encoded, expiresMs, &sentNs, &failure)) {
        return d->fail(failure);
    }
    d->pool->processes()->wakeWaiting(layout::ListenEvents, ProcessTable::eventFilterBit(utf8));
    if (expiresMs != 0) {
        d->pool->processes()->wakeWaiting(layout::ListenChanges);
    }
    d->published.fetch_add(1, std::memory_order_relaxed);
    d->recordPublished(statsRecord, quint64(encoded->bytes.size()), sentNs);
    d->succeed();
    return true;
}

QVariant EventManager::lastValue(const QString &name, const QVariant &defaultValue) const
{
    if (!d->pool || d->pool->isDestroyed()) {
        return defaultValue;
    }
    PoolError failure;
    const std::optional<EncodedValue> stored = d->pool->get(name.toUtf8(), &failure);
    return stored ? ValueCodec::decode(stored->bytes, stored->encoding) : defaultValue;
}

void EventManager::subscribe(const QString &name)
{
    if (!d->canReceive(QStringLiteral("'%1'").arg(name))) {
        return;
    }
    // The same rules as for publish(), so that a subscription can match a published event.
    PoolError failure;
    const std::optional<QByteArray> utf8 = Pool::encodeKey(name, &failure);
    if (!utf8 || !Pool::checkKey(*utf8, &failure)) {
        d->fail(failure);
        return;
    }
    {
        QMutexLocker locker(&d->subscriptionMutex);
        d->names.insert(name.toUtf8());
        d->subscriptionGeneration.fetch_add(1, std::memory_order_release);
    }
    d->updateFilter();
}

void EventManager::unsubscribe(const QString &name)
{
    {
        QMutexLocker locker(&d->subscriptionMutex);
        d->names.remove(name.toUtf8());
        d->subscriptionGeneration.fetch_add(1, std::memory_order_release);
    }
    d->updateFilter();
}

void EventManager::subscribeAll()
{
    if (!d->canReceive(QStringLiteral("all events"))) {
        return;
    }
    {
        QMutexLocker locker(&d->subscriptionMutex);
        d->all = true;
        d->subscriptionGeneration.fetch_add(1, std::memory_order_release);
    }
    d->updateFilter();
}

QStringList EventManager::subscriptions() const
{
    QMutexLocker locker(&d->subscriptionMutex);
    QStringList result;
    for (const QByteArray &name : std::as_const(d->names)) {
        result.append(QString::fromUtf8(name));
    }
    return result;
}

void EventManager::setRecordHandler(RecordHandler handler)
{
    QMutexLocker locker(&d->subscriptionMutex);
    d->handler = std::make_shared<const RecordHandler>(std::move(handler));
    d->subscriptionGeneration.fetch_add(1, std::memory_order_release);
}

quint64 EventManager::receivedCount() const
{
    return d->received.load(std::memory_order_relaxed);
}

quint64 EventManager::publishedCount() const
{
    return d->published.load(std::memory_order_relaxed);
}

quint64 EventManager::missedCount() const
{
    return d->missed.load(std::memory_order_relaxed);
}

void EventManager::cleanup()
{
    d->close();
    QMutexLocker locker(&d->subscriptionMutex);
    d->names.clear();
    d->all = false;
    d->subscriptionGeneration.fetch_add(1, std::memory_order_release);
}

SharedMemoryPool::Error EventManager::error() const
{
    return d->errors.error();
}

QString EventManager::errorString() const
{
    return d->errors.errorString();
}

} // namespace mvent

namespace mvent {

StatsWriter *statsWriterOf(const EventManager *manager)
{
    return manager->d->pool ? manager->d->pool->statsWriter() : nullptr;
}

} // namespace mvent
