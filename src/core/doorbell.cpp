// SPDX-License-Identifier: MIT
#include "doorbell_p.h"

#include "clock_p.h"
#include "logging_p.h"
#include "maintenance_p.h"
#include "runtimedir_p.h"

#include <QDir>
#include <QHash>
#include <QFile>
#include <QRandomGenerator>

#include <atomic>
#include <cerrno>
#include <memory>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace mvent {

namespace {

constexpr char FilePrefix[] = ".bell-";

// Removes the sockets of dead processes; the name starts with the owner's pid. Sockets of live
// processes that no slot references stay, and each open lists them all.
void removeOrphans()
{
    const QDir dir(runtimeDirectoryPath());
    const QStringList entries = dir.entryList({QLatin1String(FilePrefix) + QLatin1Char('*')},
                                              QDir::System | QDir::Hidden);
    for (const QString &entry : entries) {
        const QString name = entry.mid(int(sizeof FilePrefix) - 1);
        bool ok = false;
        const qint64 pid = name.section(QLatin1Char('-'), 0, 0).toLongLong(&ok);
        if (ok && pid > 0 && processStartTime(pid) == 0) {
            QFile::remove(dir.filePath(entry));
        }
    }
}

// The address of a socket file. A path longer than sockaddr_un allows is reached through
// /proc/self/fd and a descriptor of its directory, which stays open as long as this object.
class SocketAddress
{
public:
    explicit SocketAddress(const QString &path)
    {
        std::memset(&m_address, 0, sizeof m_address);
        m_address.sun_family = AF_UNIX;
        const QByteArray native = QFile::encodeName(path);
        if (size_t(native.size()) < sizeof m_address.sun_path) {
            std::memcpy(m_address.sun_path, native.constData(), size_t(native.size()));
            m_valid = true;
            return;
        }
        const qsizetype slash = native.lastIndexOf('/');
        m_directory = ::open(native.left(qMax<qsizetype>(slash, 1)).constData(),
                             O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (m_directory < 0) {
            return;
        }
        const QByteArray viaProc = "/proc/self/fd/" + QByteArray::number(m_directory)
                + native.mid(slash);
        if (size_t(viaProc.size()) < sizeof m_address.sun_path) {
            std::memcpy(m_address.sun_path, viaProc.constData(), size_t(viaProc.size()));
            m_valid = true;
        }
    }
    ~SocketAddress()
    {
        if (m_directory >= 0) {
            ::close(m_directory);
        }
    }
    Q_DISABLE_COPY_MOVE(SocketAddress)

    bool isValid() const { return m_valid; }
    const sockaddr *get() const { return reinterpret_cast<const sockaddr *>(&m_address); }
    socklen_t size() const { return socklen_t(sizeof m_address); }

private:
    sockaddr_un m_address;
    int m_directory = -1;
    bool m_valid = false;
};

// Returns true if fd is an eventfd. A wake-up written to any other kind of descriptor would
// change a file or pipe that belongs to someone else.
bool isEventFd(int fd)
{
    char link[64];
    char target[64];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t length = ::readlink(link, target, sizeof target - 1);
    if (length <= 0) {
        return false;
    }
    target[length] = '\0';
    return std::strcmp(target, "anon_inode:[eventfd]") == 0;
}

// Connects to the listener called name without blocking; -1 if none can be reached.
int connectTo(QByteArrayView name)
{
    const SocketAddress address(Doorbell::pathFor(name));
    if (!address.isValid()) {
        return -1;
    }
    const int connection = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (connection < 0) {
        return -1;
    }
    if (::connect(connection, address.get(), address.size()) != 0) {
        // EAGAIN: the listener's backlog is full of earlier connections, and accepting each
        // of them rings it, so this wake-up is not lost. Any other error: no listener.
        ::close(connection);
        return -1;
    }
    // The listener's pid is the first part of its name, so a socket that another process put
    // in its place is not trusted with wake-ups.
    ucred peer{};
    socklen_t length = sizeof peer;
    const qint64 expectedPid = QByteArray(name.data(), name.size()).split('-').value(0).toLongLong();
    if (::getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0
        || peer.uid != ::geteuid() || peer.pid != expectedPid) {
        ::close(connection);
        return -1;
    }
    return connection;
}

enum class Receive { Descriptor, NotYet, Failed };

// Reads the eventfd that the listener sends on connection, without blocking.
Receive receiveDescriptor(int connection, int *eventFd)
{
    char byte = 0;
    iovec data{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    const ssize_t received = ::recvmsg(connection, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return Receive::NotYet;
    }
    if (received <= 0) {
        return Receive::Failed;
    }
    const cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (!header || header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS
        || header->cmsg_len != CMSG_LEN(sizeof(int))) {
        return Receive::Failed;
    }
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
    if (!isEventFd(fd)) {
        ::close(fd);
        return Receive::Failed;
    }
    *eventFd = fd;
    return Receive::Descriptor;
}

void writeEventFd(int fd)
{
    const quint64 increment = 1;
    [[maybe_unused]] const ssize_t written = ::write(fd, &increment, sizeof increment);
}

} // namespace

Doorbell::~Doorbell()
{
    close();
}

QString Doorbell::pathFor(QByteArrayView name)
{
    return runtimeDirectoryPath() + QLatin1Char('/') + QLatin1String(FilePrefix)
            + QString::fromLatin1(name);
}

bool Doorbell::isValidName(QByteArrayView name)
{
    // Names come from the segment, which another process may have damaged; only the form
    // open() creates, "<pid>-<hex>", can never lead out of the runtime directory.
    if (name.isEmpty() || name.size() >= NameCapacity || !name.contains('-')) {
        return false;
    }
    for (const char c : name) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) {
            return false;
        }
    }
    return true;
}

void Doorbell::removeStale(QByteArrayView name)
{
    if (isValidName(name)) {
        QFile::remove(pathFor(name));
    }
}

int Doorbell::listenAt()
{
    const SocketAddress address(m_path);
    if (!address.isValid()) {
        errno = ENAMETOOLONG;
        return -1;
    }
    const int socket = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (socket < 0) {
        return -1;
    }
    const QByteArray native = QFile::encodeName(m_path);
    if (::bind(socket, address.get(), address.size()) != 0) {
        const int error = errno;
        ::close(socket);
        errno = error;
        return -1;
    }
    struct stat info;
    if (::chmod(native.constData(), 0600) != 0 || ::listen(socket, SOMAXCONN) != 0
        || ::lstat(native.constData(), &info) != 0) {
        const int error = errno;
        ::close(socket);
        ::unlink(native.constData());
        errno = error;
        return -1;
    }
    m_inode = info.st_ino;
    return socket;
}

bool Doorbell::open(QString *errorMessage)
{
    close();
    if (!ensureRuntimeDirectory(errorMessage)) {
        return false;
    }
    removeOrphans();
    m_eventFd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (m_eventFd < 0) {
        *errorMessage = QStringLiteral("cannot create the wake-up eventfd: %1")
                                .arg(QString::fromLocal8Bit(std::strerror(errno)));
        return false;
    }
    for (int attempt = 0; attempt < 8; ++attempt) {
        m_name = QByteArray::number(::getpid()) + '-'
                + QByteArray::number(QRandomGenerator::system()->generate64(), 16);
        m_path = pathFor(m_name);
        m_socket = listenAt();
        if (m_socket >= 0) {
            m_watchId = Maintenance::addWatch(m_socket, [this] { serve(); });
            return true;
        }
        if (errno == EADDRINUSE) {
            continue;
        }
        if (errno == ENAMETOOLONG) {
            *errorMessage = QStringLiteral("the wake-up socket path %1 is too long for a Unix "
                                           "socket; set MVENT_RUNTIME_DIR to a shorter directory")
                                    .arg(m_path);
        } else {
            *errorMessage = QStringLiteral("cannot listen on the wake-up socket %1: %2")
                                    .arg(m_path, QString::fromLocal8Bit(std::strerror(errno)));
        }
        close();
        return false;
    }
    *errorMessage = QStringLiteral("cannot create a wake-up socket with a unique name in %1")
                            .arg(runtimeDirectoryPath());
    close();
    return false;
}

void Doorbell::repair()
{
    if (m_socket < 0) {
        return;
    }
    const QByteArray native = QFile::encodeName(m_path);
    struct stat info;
    if (::lstat(native.constData(), &info) == 0 && S_ISSOCK(info.st_mode)
        && info.st_ino == m_inode) {
        return;
    }
    // The path carries this process's pid and a random part, so whatever is there now is a
    // leftover or a mistake, never another listener's socket.
    if (::unlink(native.constData()) != 0 && errno == EISDIR) {
        ::rmdir(native.constData()); // an empty directory in its place; a full one stays
    }
    const int socket = listenAt();
    if (socket < 0) {
        qCWarning(lcEvent, "cannot create the removed wake-up socket %s again: %s",
                  native.constData(), std::strerror(errno));
        return;
    }
    qCInfo(lcEvent, "created the removed wake-up socket %s again", native.constData());
    // Connections already queued on the old socket stand for rings, so serve them first.
    serve();
    Maintenance::setWatchDescriptor(m_watchId, socket);
    ::close(m_socket);
    m_socket = socket;
}

void Doorbell::close()
{
    if (m_watchId != 0) {
        Maintenance::remove(m_watchId); // waits for a running serve()
        m_watchId = 0;
    }
    if (m_socket >= 0) {
        ::close(m_socket);
        m_socket = -1;
        ::unlink(QFile::encodeName(m_path).constData());
    }
    if (m_eventFd >= 0) {
        ::close(m_eventFd);
        m_eventFd = -1;
    }
    m_name.clear();
    m_path.clear();
}

void Doorbell::serve()
{
    for (;;) {
        const int connection = ::accept4(m_socket, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (connection < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                qCWarning(lcEvent, "accepting on the wake-up socket %s failed: %s",
                          qPrintable(m_path), std::strerror(errno));
            }
            return;
        }
        ucred peer{};
        socklen_t length = sizeof peer;
        if (::getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &peer, &length) == 0
            && peer.uid == ::geteuid()) {
            char byte = 'b';
            iovec data{&byte, 1};
            alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
            msghdr message{};
            message.msg_iov = &data;
            message.msg_iovlen = 1;
            message.msg_control = control;
            message.msg_controllen = sizeof control;
            cmsghdr *header = CMSG_FIRSTHDR(&message);
            header->cmsg_level = SOL_SOCKET;
            header->cmsg_type = SCM_RIGHTS;
            header->cmsg_len = CMSG_LEN(sizeof(int));
            std::memcpy(CMSG_DATA(header), &m_eventFd, sizeof m_eventFd);
            // A writer that exited or gave up has closed its end: EPIPE is expected then.
            if (::sendmsg(connection, &message, MSG_NOSIGNAL) != 1 && errno != EPIPE
                && errno != ECONNRESET) {
                qCWarning(lcEvent, "sending the wake-up eventfd on %s failed: %s",
                          qPrintable(m_path), std::strerror(errno));
            }
        }
        ::close(connection);
        // The writer connected instead of ringing. Ringing after the hand-over means that a
        // writer that does not find the eventfd yet can rely on this ring still coming.
        ringSelf();
    }
}

int Doorbell::drain()
{
    // Reading an eventfd returns its counter and resets it, so one read takes every ring.
    quint64 count = 0;
    return ::read(m_eventFd, &count, sizeof count) == ssize_t(sizeof count) && count > 0 ? 1 : 0;
}

void Doorbell::ringSelf()
{
    writeEventFd(m_eventFd);
}

// The writer side of one listener's doorbell. Every pool object of this process that rings
// the listener shares it, so the process keeps one eventfd per listener, not one per object.
class DoorbellRinger::Bell
{
public:
    explicit Bell(QByteArrayView name) : m_name(name.toByteArray()) { }
    ~Bell()
    {
        if (const int fd = m_eventFd.load(std::memory_order_relaxed); fd >= 0) {
            ::close(fd);
        }
        if (m_connection >= 0) {
            ::close(m_connection);
        }
    }
    Q_DISABLE_COPY_MOVE(Bell)

    const QByteArray &name() const { return m_name; }

    void ring()
    {
        // Once set, the eventfd stays open as long as this object, so no lock is needed.
        if (const int fd = m_eventFd.load(std::memory_order_acquire); fd >= 0) {
            writeEventFd(fd);
            return;
        }
        QMutexLocker locker(&m_mutex);
        if (const int fd = m_eventFd.load(std::memory_order_relaxed); fd >= 0) {
            writeEventFd(fd);
            return;
        }
        if (m_connection >= 0) {
            int received = -1;
            switch (receiveDescriptor(m_connection, &received)) {
            case Receive::Descriptor:
                ::close(m_connection);
                m_connection = -1;
                m_eventFd.store(received, std::memory_order_release);
                writeEventFd(received);
                return;
            case Receive::NotYet:
                // The listener has not handed over its eventfd, so the ring that follows its
                // hand-over is still to come and wakes it after this record.
                return;
            case Receive::Failed:
                ::close(m_connection);
                m_connection = -1;
                break;
            }
        }
        // Connecting rings: the listener rings itself when it accepts.
        m_connection = connectTo(m_name);
    }

private:
    const QByteArray m_name;
    std::atomic<int> m_eventFd = -1;
    QMutex m_mutex;       // guards the hand-over below
    int m_connection = -1; // socket waiting for the listener to send its eventfd
};

namespace {

// The process's bells by doorbell name, as weak references: a bell lives while a ringer
// uses it.
class BellRegistry
{
public:
    std::shared_ptr<DoorbellRinger::Bell> acquire(QByteArrayView name)
    {
        QMutexLocker locker(&m_mutex);
        const QByteArray key = name.toByteArray();
        if (std::shared_ptr<DoorbellRinger::Bell> existing = m_bells.value(key).lock()) {
            return existing;
        }
        if (m_bells.size() >= m_sweepAt) {
            m_bells.removeIf([](const auto &item) { return item.value().expired(); });
            m_sweepAt = qMax<qsizetype>(64, m_bells.size() * 2);
        }
        auto bell = std::make_shared<DoorbellRinger::Bell>(name);
        m_bells.insert(key, bell);
        return bell;
    }

private:
    QMutex m_mutex;
    QHash<QByteArray, std::weak_ptr<DoorbellRinger::Bell>> m_bells;
    qsizetype m_sweepAt = 64;
};

BellRegistry &bellRegistry()
{
    // Never destroyed: ringers of pool objects that outlive main() still find it.
    static BellRegistry *registry = new BellRegistry;
    return *registry;
}

} // namespace

DoorbellRinger::DoorbellRinger(quint32 slots)
    : m_bells(slots)
{
}

DoorbellRinger::~DoorbellRinger() = default;

void DoorbellRinger::forget(quint32 slot, QByteArrayView currentName)
{
    QMutexLocker locker(&m_mutex);
    if (slot < m_bells.size() && m_bells[slot] && m_bells[slot]->name() != currentName) {
        m_bells[slot].reset();
    }
}

void DoorbellRinger::ring(quint32 slot, QByteArrayView name)
{
    if (slot >= m_bells.size() || name.isEmpty()) {
        return;
    }
    QMutexLocker locker(&m_mutex);
    std::shared_ptr<Bell> &bell = m_bells[slot];
    if (!bell || bell->name() != name) {
        if (!Doorbell::isValidName(name)) {
            return;
        }
        bell = bellRegistry().acquire(name);
    }
    bell->ring();
}

} // namespace mvent
