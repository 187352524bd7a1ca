// SPDX-License-Identifier: MIT
#include "runtimedir_p.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace mvent {

QString runtimeDirectoryPath()
{
    const QString overridden = qEnvironmentVariable("MVENT_RUNTIME_DIR");
    if (!overridden.isEmpty()) {
        return QDir::cleanPath(overridden);
    }
    const QString xdg = qEnvironmentVariable("XDG_RUNTIME_DIR");
    if (!xdg.isEmpty() && QDir(xdg).exists()) {
        return QDir::cleanPath(xdg + QStringLiteral("/mvent"));
    }
    return QStringLiteral("/dev/shm/mvent-%1").arg(::getuid());
}

bool ensureRuntimeDirectory(QString *errorMessage)
{
    const QString path = runtimeDirectoryPath();
    const QByteArray native = QFile::encodeName(path);
    if (::mkdir(native.constData(), 0700) != 0 && errno != EEXIST) {
        if (errno == ENOENT && QDir().mkpath(QFileInfo(path).absolutePath())
            && ::mkdir(native.constData(), 0700) == 0) {
            return true;
        }
        *errorMessage = QStringLiteral("cannot create runtime directory %1: %2")
                                .arg(path, QString::fromLocal8Bit(std::strerror(errno)));
        return false;
    }

    struct stat info;
    if (::lstat(native.constData(), &info) != 0) {
        *errorMessage = QStringLiteral("cannot read runtime directory %1: %2")
                                .arg(path, QString::fromLocal8Bit(std::strerror(errno)));
        return false;
    }
    if (!S_ISDIR(info.st_mode)) {
        // The path may be a file of the user's, so the advice is to look, not to delete.
        *errorMessage = QStringLiteral("runtime directory %1 is not a directory (a symbolic link "
                                       "or file is in its place); set MVENT_RUNTIME_DIR to a "
                                       "directory, or move that entry away if it is a leftover")
                                .arg(path);
        return false;
    }
    if (info.st_uid != ::getuid()) {
        *errorMessage = QStringLiteral("runtime directory %1 belongs to uid %2, not to this user "
                                       "(uid %3); set MVENT_RUNTIME_DIR to a directory of yours")
                                .arg(path)
                                .arg(info.st_uid)
                                .arg(::getuid());
        return false;
    }
    if ((info.st_mode & 0007) != 0) {
        *errorMessage = QStringLiteral("runtime directory %1 has mode %2, open to other users; "
                                       "run chmod 700 on it")
                                .arg(path)
                                .arg(info.st_mode & 0777, 4, 8, QLatin1Char('0'));
        return false;
    }
    return true;
}

// Returns the character at \a index of \a text for an error message: in quotes if it is
// printable ASCII (double quotes for the single quote), else as U+XXXX, with a surrogate pair
// combined into one code point.
static QString characterForMessage(const QString &text, qsizetype index)
{
    const QChar c = text.at(index);
    if (c == QLatin1Char('\'')) {
        return QStringLiteral("\"'\"");
    }
    if (c.unicode() >= 0x20 && c.unicode() < 0x7f) {
        return QLatin1Char('\'') + c + QLatin1Char('\'');
    }
    char32_t codePoint = c.unicode();
    if (c.isHighSurrogate() && index + 1 < text.size() && text.at(index + 1).isLowSurrogate()) {
        codePoint = QChar::surrogateToUcs4(c, text.at(index + 1));
    }
    return QStringLiteral("U+%1").arg(uint(codePoint), 4, 16, QLatin1Char('0')).toUpper();
}

QString poolNameProblem(const QString &name)
{
    const QByteArray utf8 = name.toUtf8();
    if (utf8.isEmpty()) {
        return QStringLiteral("pool name is empty");
    }
    if (utf8.size() > 64) {
        return QStringLiteral("pool name '%1' is %2 bytes long; the maximum is 64")
                .arg(name)
                .arg(utf8.size());
    }
    if (utf8.startsWith('.')) {
        return QStringLiteral("pool name '%1' starts with '.'; start it with a letter, a digit, "
                              "'_' or '-'")
                .arg(name);
    }
    for (qsizetype i = 0; i < name.size(); ++i) {
        const char16_t u = name.at(i).unicode();
        const bool allowed = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z')
                || (u >= '0' && u <= '9') || u == '.' || u == '_' || u == '-';
        if (!allowed) {
            return QStringLiteral("pool name '%1' contains the character %2; use only ASCII "
                                  "letters, digits, '.', '_' and '-'")
                    .arg(name, characterForMessage(name, i));
        }
    }
    return QString();
}

QString segmentFilePath(const QString &name)
{
    return runtimeDirectoryPath() + QLatin1Char('/') + name + QStringLiteral(".pool");
}

QString nativeSharedMemoryKey(const QString &name)
{
    return runtimeDirectoryPath() + QLatin1Char('/') + name + QStringLiteral(".qsm");
}

} // namespace mvent
