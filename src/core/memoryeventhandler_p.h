// SPDX-License-Identifier: MIT
#pragma once

#include <QObject>
#include <QVariant>

namespace mvent {

// Carries one handler's calls to a receiver in another thread. Qt's signal machinery removes
// the connection, under its own lock, when the receiver is destroyed in its thread, so an
// emit never reaches a receiver that is gone or going; a QPointer check from the delivery
// thread cannot promise that.
class HandlerRelay : public QObject
{
    Q_OBJECT

Q_SIGNALS:
    void deliver(const QString &name, const QVariant &value);
};

} // namespace mvent
