// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

namespace demo {

class TerminationSignals;

// Publishes this machine's CPU, memory, network and load counters every intervalMs
// milliseconds for durationMs, then the done event. SIGINT or SIGTERM ends the publishing
// early, and the done event still follows. Returns the process exit code: 0, 1 if publishing
// failed, or 128 plus the number of the signal that stopped it.
int runSystemProducer(const QString &poolName, int durationMs, int intervalMs,
                      TerminationSignals &terminationSignals);

// Publishes the non-empty lines of the text file at path, one every intervalMs milliseconds,
// starting over at the end of the file, for durationMs, then the done event. Signals and the
// exit code are as for runSystemProducer().
int runTextProducer(const QString &poolName, const QString &path, int durationMs, int intervalMs,
                    TerminationSignals &terminationSignals);

} // namespace demo
