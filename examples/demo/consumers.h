// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

namespace demo {

// Subscribes to the system events, prints CPU busy %, memory used, network bytes/s and load
// once a second, and reports once the system producer's done event arrives. Returns the
// process exit code: 0 only if every event the producer sent arrived.
int runSystemConsumer(const QString &poolName);

// Subscribes to the text lines, prints line and word counts and the most frequent words once
// a second, and reports once the text producer's done event arrives. Returns the process exit
// code: 0 only if every line the producer sent arrived.
int runTextConsumer(const QString &poolName);

} // namespace demo
