// SPDX-License-Identifier: MIT
#pragma once

#include <QString>
#include <QStringList>

namespace demo {

// Reads the lines of the text file at path that contain more than white space, without their
// line ends. If the file is missing, is not a regular file, cannot be read or has no such
// line, returns an empty list and sets error to the reason, which names path.
QStringList readTextLines(const QString &path, QString *error);

} // namespace demo
