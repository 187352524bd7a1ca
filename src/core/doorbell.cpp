// SPDX-License-Identifier: MIT
#include "doorbell_p.h"

#include "clock_p.h"
#include "runtimedir_p.h"

#include <QDir>
#include <QFile>
#include <QRandomGenerator>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mvent {

namespace {

constexpr char FilePrefix[] = ".bell-";

// Removes the FIFOs of dead processes; the name starts with the owner's pid. FIFOs of live
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

// Opens the FIFO at path for writing, or returns -1 if something else has taken its place.
// A symbolic link or regular file there would otherwise receive the wake-up byte, which
// overwrites the first byte of the file it leads to, for example a pool's magic number.
int openFifo(const QString &path)
{
    // Read-write, so that a listener that has gone cannot make the write raise SIGPIPE.
    const int fd = ::open(QFile::encodeName(path).constData(),
                          O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return -1;
    }
    struct stat info;
    if (::fstat(fd, &info) != 0 || !S_ISFIFO(info.st_mode)) {
        ::close(fd);
        return -1;
    }
    return fd;
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

void Doorbell::removeStale(QByteArrayView name)
{
    if (!name.isEmpty()) {
        QFile::remove(pathFor(name));
    }
}

// NOTE: a FIFO deleted or replaced while its listener runs is not created again; the listener
// then receives records only on its 1-second maintenance tick.
bool Doorbell::open(QString *errorMessage)
{
    close();
    if (!ensureRuntimeDirectory(errorMessage)) {
        return false;
    }
    removeOrphans();
    for (int attempt = 0; attempt < 8; ++attempt) {
        const QByteArray name = QByteArray::number(::getpid()) + '-'
                + QByteArray::number(QRandomGenerator::system()->generate64(), 16);
        const QString path = pathFor(name);
        const QByteArray nativePath = QFile::encodeName(path);
        if (::mkfifo(nativePath.constData(), 0600) != 0) {
            if (errno == EEXIST) {
                continue;
            }
            *errorMessage = QStringLiteral("cannot create the wake-up FIFO %1: %2")
                                    .arg(path, QString::fromLocal8Bit(std::strerror(errno)));
            return false;
        }
        m_fd = ::open(nativePath.constData(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (m_fd < 0) {
            *errorMessage = QStringLiteral("cannot open the wake-up FIFO %1: %2")
                                    .arg(path, QString::fromLocal8Bit(std::strerror(errno)));
            ::unlink(nativePath.constData());
            return false;
        }
        m_name = name;
        m_path = path;
        return true;
    }
    *errorMessage = QStringLiteral("cannot create a wake-up FIFO with a unique name in %1")
                            .arg(runtimeDirectoryPath());
    return false;
}

void Doorbell::close()
{
    if (m_fd >= 0) {
        ::close(m_fd);
        m_fd = -1;
        ::unlink(QFile::encodeName(m_path).constData());
    }
    m_name.clear();
    m_path.clear();
}

int Doorbell::drain()
{
    // Writers ring only after the listener announced sleep, so one byte is the rule. A byte
    // left over wakes the listener once more, and it then finds nothing new.
    char buffer[64];
    return ::read(m_fd, buffer, sizeof buffer) > 0 ? 1 : 0;
}

void Doorbell::ringSelf()
{
    const char byte = 1;
    [[maybe_unused]] const ssize_t written = ::write(m_fd, &byte, 1);
}

DoorbellRinger::DoorbellRinger(quint32 slots)
    : m_entries(slots)
{
}

DoorbellRinger::~DoorbellRinger()
{
    for (const Entry &entry : m_entries) {
        if (entry.fd >= 0) {
            ::close(entry.fd);
        }
    }
}

void DoorbellRinger::ring(quint32 slot, QByteArrayView name)
{
    if (slot >= m_entries.size() || name.isEmpty()) {
        return;
    }
    QMutexLocker locker(&m_mutex);
    Entry &entry = m_entries[slot];
    if (entry.name != name) {
        if (entry.fd >= 0) {
            ::close(entry.fd);
        }
        entry.name = name.toByteArray();
        entry.fd = openFifo(Doorbell::pathFor(name));
    }
    if (entry.fd >= 0) {
        const char byte = 1;
        [[maybe_unused]] const ssize_t written = ::write(entry.fd, &byte, 1);
    }
}

} // namespace mvent
