// SPDX-License-Identifier: MIT
#pragma once

#include "eventmanager.h"
#include "mvent_core_export.h"

#include <QObject>
#include <QPointer>

#include <functional>
#include <memory>

namespace mvent {

class MemoryEventHandlerPrivate;

/*!
    Connects callables and slots to event names of a pool, and publishes events.

    Every event published by any process attached to the pool, this one included, reaches
    every handler registered for its name exactly once, in log order. Identical consecutive
    values are delivered too. A handler runs on the thread of its context object (the
    receiver, or this object for plain callables); with EventManager::DirectDelivery it runs
    on the notifier thread instead. An exception thrown by a handler is caught, logged with
    the event name, counted and reported by handlerFailed(); delivery to other handlers goes
    on.

    Thread safety: on(), off() and publish() may be called from any thread. A handler that the
    pool could not open still accepts on() calls; isAttached() and error() tell.
*/
class MVENT_CORE_EXPORT MemoryEventHandler : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QString poolName READ poolName CONSTANT)

public:
    using Options = EventManager::Options;
    using Callback = std::function<void(const QVariant &value)>;

    explicit MemoryEventHandler(const QString &poolName, QObject *parent = nullptr);
    MemoryEventHandler(const QString &poolName, const Options &options, QObject *parent = nullptr);
    ~MemoryEventHandler() override;

    /*! Returns the pool name given to the constructor. */
    QString poolName() const;
    /*! Returns true while the underlying EventManager is attached. */
    bool isAttached() const;

    /*! Calls \a callback with the value of every event \a name; returns an id for off(). */
    int on(const QString &name, Callback callback);
    /*!
        Calls \a callback on \a context's thread for every event \a name. The handler is removed
        when \a context is destroyed.
    */
    int on(const QString &name, QObject *context, Callback callback);
    /*! Calls \a slot of \a receiver with the value; removed when \a receiver is destroyed. */
    template<typename Receiver, typename Value>
    int on(const QString &name, Receiver *receiver, void (Receiver::*slot)(Value))
    {
        return on(name, receiver, [receiver, slot](const QVariant &value) {
            (receiver->*slot)(qvariant_cast<std::decay_t<Value>>(value));
        });
    }
    /*! Removes the handler with \a id. */
    void off(int id);
    /*! Removes every handler of event \a name. */
    void off(const QString &name);

    /*! Publishes an event; see EventManager::publish(). */
    bool publish(const QString &name, const QVariant &value, qint64 ttlMs = 0);
    /*! Returns the last value published with a TTL under \a name while it lives. */
    QVariant lastValue(const QString &name, const QVariant &defaultValue = QVariant()) const;

    /*! Removes every handler and releases the process slot. */
    void cleanup();

    /*! Returns how many handler calls threw. */
    quint64 handlerErrorCount() const;
    /*! Returns the EventManager that this object owns, for counters and subscriptions. */
    EventManager *manager() const;
    /*! Returns the error of the last operation, including a failure to open the pool. */
    SharedMemoryPool::Error error() const;
    /*! Returns a message for error(). */
    QString errorString() const;

Q_SIGNALS:
    /*! Any subscribed event, after its handlers ran; connecting subscribes to every event. */
    void eventReceived(const QString &name, const QVariant &value);
    /*! The log overtook this handler; \a count events were lost to it. */
    void eventsMissed(quint64 count);
    /*! A handler of event \a name threw; \a message is the exception's what(). */
    void handlerFailed(const QString &name, const QString &message);

protected:
    void connectNotify(const QMetaMethod &signal) override;

private:
    friend class MemoryEventHandlerPrivate;
    std::unique_ptr<MemoryEventHandlerPrivate> const d;
    Q_DISABLE_COPY_MOVE(MemoryEventHandler)
};

} // namespace mvent
