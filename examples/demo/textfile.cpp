// SPDX-License-Identifier: MIT
#include "textfile.h"

#include <QFile>
#include <QFileInfo>

namespace demo {

QStringList readTextLines(const QString &path, QString *error)
{
    // QFileInfo follows symbolic links, so a link to a text file is accepted.
    const QFileInfo info(path);
    if (!info.exists()) {
        *error = QStringLiteral("'%1' not found").arg(path);
        return {};
    }
    if (info.isDir()) {
        *error = QStringLiteral("'%1' is a directory, not a regular file").arg(path);
        return {};
    }
    // Devices and FIFOs are rejected, because reading them returns nothing, as /dev/null
    // does, blocks or never ends.
    if (!info.isFile()) {
        *error = QStringLiteral("'%1' is not a regular file").arg(path);
        return {};
    }

    QFile file(path);
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text)) {
        *error = QStringLiteral("cannot read '%1': %2").arg(path, file.errorString());
        return {};
    }
    QStringList lines;
    for (const QByteArray &line : file.readAll().split('\n')) {
        if (!line.trimmed().isEmpty()) {
            lines.append(QString::fromUtf8(line));
        }
    }
    if (lines.isEmpty()) {
        *error = info.size() == 0
                ? QStringLiteral("'%1' is empty").arg(path)
                : QStringLiteral("'%1' contains only blank lines").arg(path);
    }
    return lines;
}

} // namespace demo
