// SPDX-License-Identifier: MIT
#include "clock_p.h"
#include "logging_p.h"
#include "runtimedir_p.h"
#include "segment_p.h"

#include <QDir>
#include <QFile>
#include <QRandomGenerator>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mvent {

namespace {

QString systemError(int code)
{
    return QString::fromLocal8Bit(std::strerror(code));
}

mode_t toMode(QFileDevice::Permissions permissions)
{
    mode_t mode = 0;
    if (permissions & QFileDevice::ReadOwner) mode |= S_IRUSR;
    if (permissions & QFileDevice::WriteOwner) mode |= S_IWUSR;
    if (permissions & QFileDevice::ReadGroup) mode |= S_IRGRP;
    if (permissions & QFileDevice::WriteGroup) mode |= S_IWGRP;
    if (permissions & QFileDevice::ReadOther) mode |= S_IROTH;
    if (permissions & QFileDevice::WriteOther) mode |= S_IWOTH;
    return mode | S_IRUSR | S_IWUSR;
}

Segment::Result resultFor(int code)
{
    switch (code) {
    case ENOENT:
        return Segment::Missing;
    case EACCES:
    case EPERM:
        return Segment::Denied;
    case EEXIST:
        return Segment::Exists;
    default:
        return Segment::Failed;
    }
}

// A file segment: the pool file mapped MAP_SHARED, which on tmpfs is what POSIX shared memory
// is on Linux. It is built under a temporary name and published with link(), so no process
// ever maps a half-initialised pool under the real name.
class FileSegment final : public Segment
{
public:
    explicit FileSegment(const QString &poolName)
        : m_poolName(poolName)
        , m_path(segmentFilePath(poolName))
    {
    }
    ~FileSegment() override { detach(); }

    Result create(qint64 size, QFileDevice::Permissions permissions,
                  const Initialiser &initialise) override;
    Result attach() override;
    void detach() override;
    bool remove() override;

    uchar *data() const override { return m_memory; }
    qint64 size() const override { return m_size; }
    QString location() const override { return m_path; }
    QString backingName() const override { return QStringLiteral("file"); }

private:
    Result fail(const QString &what, int code)
    {
        m_errorString = QStringLiteral("%1 %2: %3").arg(what, m_path, systemError(code));
        return resultFor(code);
    }
    void removeStaleTemporaries() const;

    QString m_poolName;
    QString m_path;
    uchar *m_memory = nullptr;
    qint64 m_size = 0;
};

void FileSegment::removeStaleTemporaries() const
{
    // A creator killed before link() leaves ".NAME.PID.RANDOM.tmp"; remove those of dead pids.
    const QDir dir(runtimeDirectoryPath());
    const QString prefix = QLatin1Char('.') + m_poolName + QLatin1Char('.');
    const QStringList entries = dir.entryList({prefix + QStringLiteral("*.tmp")},
                                              QDir::Files | QDir::Hidden | QDir::System);
    for (const QString &entry : entries) {
        const QStringList parts = entry.mid(prefix.size()).split(QLatin1Char('.'));
        bool ok = false;
        const qint64 pid = parts.value(0).toLongLong(&ok);
        if (ok && pid > 0 && processStartTime(pid) == 0) {
            QFile::remove(dir.filePath(entry));
        }
    }
}

Segment::Result FileSegment::create(qint64 size, QFileDevice::Permissions permissions,
                                    const Initialiser &initialise)
{
    removeStaleTemporaries();
    const QString temporary = QStringLiteral("%1/.%2.%3.%4.tmp")
                                      .arg(runtimeDirectoryPath(), m_poolName)
                                      .arg(::getpid())
                                      .arg(QRandomGenerator::system()->generate64(), 0, 16);
    const QByteArray temporaryPath = QFile::encodeName(temporary);
    const mode_t mode = toMode(permissions);
    const int fd = ::open(temporaryPath.constData(),
                          O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        return fail(QStringLiteral("cannot create"), errno);
    }
    auto discard = [&](const QString &what, int code) {
        const Result result = fail(what, code);
        ::close(fd);
        ::unlink(temporaryPath.constData());
        return result;
    };
    ::fchmod(fd, mode); // the umask must not narrow the mode the caller asked for
    // Reserve the pages now: a sparse file on a full tmpfs would fail later with SIGBUS.
    if (const int rc = ::posix_fallocate(fd, 0, size); rc != 0) {
        return discard(QStringLiteral("cannot reserve %1 bytes for").arg(size), rc);
    }
    void *memory = ::mmap(nullptr, size_t(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (memory == MAP_FAILED) {
        return discard(QStringLiteral("cannot map"), errno);
    }
    QString initialiseError;
    if (!initialise(static_cast<uchar *>(memory), size, &initialiseError)) {
        ::munmap(memory, size_t(size));
        ::close(fd);
        ::unlink(temporaryPath.constData());
        m_errorString = initialiseError;
        return Failed;
    }

    const QByteArray finalPath = QFile::encodeName(m_path);
    const int rc = ::link(temporaryPath.constData(), finalPath.constData());
    const int linkError = errno;
    ::unlink(temporaryPath.constData());
    ::close(fd);
    if (rc != 0) {
        ::munmap(memory, size_t(size));
        if (linkError == EEXIST) {
            return Exists;
        }
        return fail(QStringLiteral("cannot publish"), linkError);
    }
    m_memory = static_cast<uchar *>(memory);
    m_size = size;
    return Ok;
}

Segment::Result FileSegment::attach()
{
    const QByteArray path = QFile::encodeName(m_path);
    const int fd = ::open(path.constData(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        const int code = errno;
        if (code == ENOENT) {
            m_errorString = QStringLiteral("pool '%1' does not exist (no file %2)").arg(m_poolName, m_path);
            return Missing;
        }
        return fail(QStringLiteral("cannot open"), code);
    }
    struct stat info;
    if (::fstat(fd, &info) != 0) {
        const Result result = fail(QStringLiteral("cannot read"), errno);
        ::close(fd);
        return result;
    }
    if (!S_ISREG(info.st_mode)) {
        ::close(fd);
        m_errorString = QStringLiteral("%1 is not a regular file").arg(m_path);
        return Failed;
    }
    if (info.st_size <= 0) {
        ::close(fd);
        m_errorString = QStringLiteral("segment is truncated: %1 is empty").arg(m_path);
        m_size = 0;
        return Ok; // validation reports the truncation with the header's terms
    }
    void *memory = ::mmap(nullptr, size_t(info.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    const int code = errno;
    ::close(fd);
    if (memory == MAP_FAILED) {
        return fail(QStringLiteral("cannot map"), code);
    }
    m_memory = static_cast<uchar *>(memory);
    m_size = info.st_size;
    return Ok;
}

void FileSegment::detach()
{
    if (m_memory) {
        ::munmap(m_memory, size_t(m_size));
        m_memory = nullptr;
    }
    m_size = 0;
}

bool FileSegment::remove()
{
    if (::unlink(QFile::encodeName(m_path).constData()) != 0 && errno != ENOENT) {
        fail(QStringLiteral("cannot remove"), errno);
        return false;
    }
    return true;
}

} // namespace

std::unique_ptr<Segment> Segment::createFileSegment(const QString &poolName)
{
    return std::make_unique<FileSegment>(poolName);
}

} // namespace mvent
