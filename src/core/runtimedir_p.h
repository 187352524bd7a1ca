// SPDX-License-Identifier: MIT
#pragma once

#include "mvent_core_export.h"

#include <QString>

namespace mvent {

// Returns the per-user directory for pools: $MVENT_RUNTIME_DIR, else $XDG_RUNTIME_DIR/mvent,
// else /dev/shm/mvent-UID. Does not create it.
MVENT_CORE_EXPORT QString runtimeDirectoryPath();

// Creates the runtime directory with mode 0700 if missing, and checks that it is a directory
// owned by this user and not accessible to others. On failure returns false with a message.
MVENT_CORE_EXPORT bool ensureRuntimeDirectory(QString *errorMessage);

// Validates a pool name: 1 to 64 bytes of letters, digits, '.', '_' and '-', not starting
// with '.'. Returns an empty string if valid, else the reason.
MVENT_CORE_EXPORT QString poolNameProblem(const QString &name);

// Path of the file that backs the file segment of pool name.
MVENT_CORE_EXPORT QString segmentFilePath(const QString &name);
// Native key of the QSharedMemory backing: a file path in the runtime directory, so the key is
// private to the user and independent of Qt's key hashing (QNativeIpcKey needs Qt 6.6).
MVENT_CORE_EXPORT QString nativeSharedMemoryKey(const QString &name);

} // namespace mvent
