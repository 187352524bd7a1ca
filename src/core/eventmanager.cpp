// SPDX-License-Identifier: MIT
#include "eventmanager.h"

#include "clock_p.h"
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
#include <QTimer>

namespace mvent {

namespace {
constexpr int MaintenanceIntervalMs = 1000;
} // namespace

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
    void recordPublished(const QByteArray &name, quint64 bytes);
    void updateFilter();
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
    QTimer *maintenance = nullptr;

    // Read on the delivery thread, changed on the manager's thread.
    mutable QMutex subscriptionMutex;
    QSet<QByteArray> names;
    bool all = false;
    std::shared_ptr<const EventManager::RecordHandler> handler;
    std::atomic<quint64> subscriptionGeneration = 1; // increases with every change above

    // Delivery-thread cache of the last event name: a stream of one event skips the lock,
    // the set lookup and the UTF-8 conversion.
    struct NameCache
    {
        quint64 generation = 0;
        QByteArray utf8;
        QString name;
        bool accepted = false;
        std::shared_ptr<const EventManager::RecordHandler> handler;
        layout::StatsRecord *receivedRecord = nullptr;
    } cache;
    // Distinguishes managers in the per-thread cache of publish(), where addresses can repeat.
    const quint64 serial = nextSerial.fetch_add(1, std::memory_order_relaxed);
    static inline std::atomic<quint64> nextSerial = 1;

    // Rate limit of the missed-events warning; touched on the delivery thread only.
    quint64 unloggedMissed = 0;
    qint64 lastMissedLogNs = 0;

    std::atomic<quint64> received = 0;
    std::atomic<quint64> published = 0;
    std::atomic<quint64> missed = 0;

    ErrorState errors;
};

bool EventManagerPrivate::open()
{
    PoolError failure;
    if (!attachment.open(poolName, options.pool, true, &failure)) {
        errors.setOpenFailure(failure.message);
        return fail(failure);
    }
    errors.setOpenFailure(QString());

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
    const Notifier::Mode mode = options.delivery == EventManager::DirectDelivery
            ? Notifier::ThreadMode
            : Notifier::EventLoopMode;
    attachment.createNotifier(mode, std::move(callbacks), options.maxSpinMicroseconds);
    updateFilter();

    maintenance = new QTimer(q);
    maintenance->setInterval(MaintenanceIntervalMs);
    QObject::connect(maintenance, &QTimer::timeout, q, [this] {
        if (!attachment.maintain()) {
            handleDestroyed();
            return;
        }
        if (StatsWriter *writer = pool->statsWriter(); writer && writer->block()) {
            writer->block()->lag.store(notifier->lag(), std::memory_order_relaxed);
        }
    });
    maintenance->start();
    succeed();
    Q_EMIT q->attachedChanged(true);
    return true;
}

void EventManagerPrivate::recordPublished(const QByteArray &name, quint64 bytes)
{
    StatsWriter *writer = pool ? pool->statsWriter() : nullptr;
    if (!writer || !writer->block()) {
        return;
    }
    // publish() runs on any thread, so each thread caches the record of its last name.
    struct PublishCache
    {
        quint64 serial = 0;
        QByteArray name;
        layout::StatsRecord *record = nullptr;
    };
    thread_local PublishCache cache;
    if (cache.serial != serial || cache.name != name) {
        cache.serial = serial;
        cache.name = name;
        cache.record = writer->record(layout::StatsEventPublished, name);
    }
    StatsWriter::count(cache.record, bytes, monotonicNs());
    writer->block()->published.fetch_add(1, std::memory_order_relaxed);
    writer->block()->bytesOut.fetch_add(bytes, std::memory_order_relaxed);
}

void EventManagerPrivate::handleDestroyed()
{
    close();
    fail({SharedMemoryPool::PoolDestroyed, QStringLiteral("pool '%1' was destroyed").arg(poolName)});
    Q_EMIT q->poolDestroyed();
    Q_EMIT q->errorOccurred(SharedMemoryPool::PoolDestroyed);
}

void EventManagerPrivate::close()
{
    const bool wasOpen = attachment.isOpen();
    delete maintenance;
    maintenance = nullptr;
    attachment.close();
    if (wasOpen) {
        Q_EMIT q->attachedChanged(false);
    }
}

void EventManagerPrivate::updateFilter()
{
    if (!pool) {
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

void EventManagerPrivate::onRecord(const LogRecord &record)
{
    if (record.kind != RecordEvent) {
        return;
    }
    const quint64 generation = subscriptionGeneration.load(std::memory_order_acquire);
    if (cache.generation != generation || cache.utf8 != record.name) {
        QMutexLocker locker(&subscriptionMutex);
        cache.generation = generation;
        cache.utf8 = record.name;
        cache.name = QString::fromUtf8(record.name);
        cache.accepted = all || names.contains(record.name);
        cache.handler = handler;
        StatsWriter *writer = pool ? pool->statsWriter() : nullptr;
        cache.receivedRecord = writer ? writer->record(layout::StatsEventReceived, record.name)
                                      : nullptr;
    }
    if (!cache.accepted) {
        return;
    }
    received.fetch_add(1, std::memory_order_relaxed);
    if (cache.receivedRecord) {
        const qint64 now = monotonicNs();
        StatsWriter::count(cache.receivedRecord, quint64(record.value.size()), now);
        StatsWriter::addDuration(cache.receivedRecord, now - record.timeNs);
        layout::StatsBlockHeader *block = pool->statsWriter()->block();
        block->received.fetch_add(1, std::memory_order_relaxed);
        block->bytesIn.fetch_add(quint64(record.value.size()), std::memory_order_relaxed);
    }
    const QVariant value = ValueCodec::decode(record.value, record.encoding);
    if (cache.handler && *cache.handler) {
        (*cache.handler)(cache.name, value, {record.sequence, record.timeNs, record.pid});
    }
    Q_EMIT q->eventReceived(cache.name, value);
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
    d->maintenance = nullptr; // a child, deleted by QObject after this body
    d->attachment.close();    // joins the notifier thread before anything it uses goes away
}

QString EventManager::poolName() const
{
    return d->poolName;
}

bool EventManager::isAttached() const
{
    return d->pool != nullptr;
}

EventManager::Options EventManager::options() const
{
    return d->options;
}

bool EventManager::publish(const QString &name, const QVariant &value, qint64 ttlMs)
{
    if (ttlMs < 0) {
        return d->fail({SharedMemoryPool::InvalidOptions,
                        QStringLiteral("TTL %1 ms for event '%2' is negative; use 0 for none")
                                .arg(ttlMs)
                                .arg(name)});
    }
    if (!d->pool) {
        return d->errors.failNotAttached(d->poolName);
    }
    QString message;
    const std::optional<EncodedValue> encoded = ValueCodec::encode(value, &message);
    if (!encoded) {
        return d->fail({SharedMemoryPool::UnsupportedType,
                        QStringLiteral("cannot publish event '%1': %2").arg(name, message)});
    }
    PoolError failure;
    const std::optional<QByteArray> encodedName = Pool::encodeKey(name, &failure);
    if (!encodedName) {
        return d->fail(failure);
    }
    const QByteArray &utf8 = *encodedName;
    const qint64 expiresMs = ttlMs > 0 ? wallClockMs() + ttlMs : 0;
    if (!d->pool->publishEvent(utf8, *encoded, expiresMs, &failure)) {
        return d->fail(failure);
    }
    d->pool->processes()->wakeWaiting(layout::ListenEvents, ProcessTable::eventFilterBit(utf8));
    d->published.fetch_add(1, std::memory_order_relaxed);
    d->recordPublished(utf8, quint64(encoded->bytes.size()));
    d->succeed();
    return true;
}

QVariant EventManager::lastValue(const QString &name, const QVariant &defaultValue) const
{
    if (!d->pool) {
        return defaultValue;
    }
    PoolError failure;
    const std::optional<EncodedValue> stored = d->pool->get(name.toUtf8(), &failure);
    return stored ? ValueCodec::decode(stored->bytes, stored->encoding) : defaultValue;
}

void EventManager::subscribe(const QString &name)
{
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
