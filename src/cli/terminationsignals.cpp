// SPDX-License-Identifier: MIT
#include "terminationsignals.h"

#include "commandline.h"

#include <QCoreApplication>

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace mvent::cli {

namespace {

// Write end of the socket pair that the SIGINT and SIGTERM handler writes to.
int signalWriteFd = -1;

void onTerminationSignal(int)
{
    const int savedErrno = errno;
    const char byte = 1;
    // write() is async-signal-safe. If the socket is full, a wake-up is pending already.
    [[maybe_unused]] const ssize_t written = ::write(signalWriteFd, &byte, 1);
    errno = savedErrno;
}

} // namespace

TerminationSignals::TerminationSignals()
{
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, m_fds.data()) != 0) {
        m_error = QString::fromLocal8Bit(std::strerror(errno));
        m_fds = { -1, -1 };
        return;
    }
    signalWriteFd = m_fds[1];
    m_notifier = std::make_unique<QSocketNotifier>(m_fds[0], QSocketNotifier::Read);
    QObject::connect(m_notifier.get(), &QSocketNotifier::activated, qApp,
                     [] { QCoreApplication::quit(); });

    struct sigaction action = {};
    action.sa_handler = onTerminationSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, &m_previousInterrupt);
    ::sigaction(SIGTERM, &action, &m_previousTerminate);
}

TerminationSignals::~TerminationSignals()
{
    if (m_fds[0] < 0) {
        return;
    }
    ::sigaction(SIGINT, &m_previousInterrupt, nullptr);
    ::sigaction(SIGTERM, &m_previousTerminate, nullptr);
    m_notifier.reset();
    signalWriteFd = -1;
    ::close(m_fds[0]);
    ::close(m_fds[1]);
}

bool TerminationSignals::checkValid() const
{
    if (!isValid()) {
        printError(QStringLiteral("installing the SIGINT and SIGTERM handlers failed: %1")
                           .arg(m_error));
        return false;
    }
    return true;
}

} // namespace mvent::cli
