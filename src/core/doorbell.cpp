// SPDX-License-Identifier: MIT
#include "doorbell_p.h"

#include <QRandomGenerator>

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace mvent {

namespace {

socklen_t abstractAddress(const char *name, int nameLength, sockaddr_un *address)
{
    std::memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    // sun_path[0] == '\0' selects the abstract namespace; the name follows without a NUL.
    const int length = qMin<int>(nameLength, sizeof address->sun_path - 1);
    std::memcpy(address->sun_path + 1, name, size_t(length));
    return socklen_t(offsetof(sockaddr_un, sun_path) + 1 + length);
}

int senderSocket()
{
    // One unbound socket per process serves every ring(); sendto() is thread-safe.
    static const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return fd;
}

} // namespace

Doorbell::~Doorbell()
{
    close();
}

bool Doorbell::open(QString *errorMessage)
{
    close();
    m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m_fd < 0) {
        *errorMessage = QStringLiteral("cannot create a wake-up socket: %1")
                                .arg(QString::fromLocal8Bit(std::strerror(errno)));
        return false;
    }
    for (int attempt = 0; attempt < 8; ++attempt) {
        const QByteArray name = QByteArrayLiteral("mvent.")
                + QByteArray::number(QRandomGenerator::system()->generate64(), 16)
                + QByteArray::number(QRandomGenerator::system()->generate64(), 16);
        sockaddr_un address;
        const socklen_t length = abstractAddress(name.constData(), int(name.size()), &address);
        if (::bind(m_fd, reinterpret_cast<sockaddr *>(&address), length) == 0) {
            m_name = name;
            return true;
        }
        if (errno != EADDRINUSE) {
            break;
        }
    }
    *errorMessage = QStringLiteral("cannot bind a wake-up socket: %1")
                            .arg(QString::fromLocal8Bit(std::strerror(errno)));
    close();
    return false;
}

void Doorbell::close()
{
    if (m_fd >= 0) {
        ::close(m_fd);
        m_fd = -1;
    }
    m_name.clear();
}

int Doorbell::drain()
{
    // Writers ring only after the listener announced sleep, so one datagram is the rule. One
    // recv() saves the second call that would only return EAGAIN; a datagram left over wakes
    // the listener once more, which then finds nothing new.
    char buffer[64];
    return ::recv(m_fd, buffer, sizeof buffer, MSG_DONTWAIT) >= 0 ? 1 : 0;
}

void Doorbell::ring(const char *name, int nameLength)
{
    const int fd = senderSocket();
    if (fd < 0 || nameLength <= 0) {
        return;
    }
    sockaddr_un address;
    const socklen_t length = abstractAddress(name, nameLength, &address);
    const char byte = 1;
    ::sendto(fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<sockaddr *>(&address), length);
}

} // namespace mvent
