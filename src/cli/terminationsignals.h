// SPDX-License-Identifier: MIT
#pragma once

#include <QSocketNotifier>
#include <QString>

#include <array>
#include <csignal>
#include <memory>

namespace mvent::cli {

/*
    Turns SIGINT and SIGTERM into a quit of the application's event loop, so that the command
    returns from exec() and releases what it holds, such as an EventManager's process slot or
    a listening socket, before the process ends. The previous handlers come back when the
    object is destroyed.
*/
class TerminationSignals
{
public:
    TerminationSignals();
    ~TerminationSignals();

    Q_DISABLE_COPY_MOVE(TerminationSignals)

    bool isValid() const { return m_fds[0] >= 0; }
    /*! Returns isValid(), after printing why the handlers are not installed when it is false. */
    bool checkValid() const;
    QString errorString() const { return m_error; }

private:
    std::array<int, 2> m_fds = { -1, -1 };
    std::unique_ptr<QSocketNotifier> m_notifier;
    struct sigaction m_previousInterrupt = {};
    struct sigaction m_previousTerminate = {};
    QString m_error;
};

} // namespace mvent::cli
