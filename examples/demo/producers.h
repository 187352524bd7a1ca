// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

namespace demo {

// Publishes this machine's CPU, memory, network and load counters every intervalMs
// milliseconds for durationMs, then the done event. Returns the process exit code.
int runSystemProducer(const QString &poolName, int durationMs, int intervalMs);

// Publishes the non-empty lines of the text file at path, one every intervalMs milliseconds,
// starting over at the end of the file, for durationMs, then the done event. Returns the
// process exit code.
int runTextProducer(const QString &poolName, const QString &path, int durationMs, int intervalMs);

} // namespace demo
