// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

namespace demo {

class TerminationSignals;

// Subscribes to the system events, prints CPU busy %, memory used, network bytes/s and load
// once a second, and reports once the system producer's done event arrives. SIGINT or SIGTERM
// ends it early with a report of the events received so far. Returns the process exit code:
// 0 only if every event the producer sent arrived, or 128 plus the number of the signal.
int runSystemConsumer(const QString &poolName, TerminationSignals &terminationSignals);

// Subscribes to the text lines, prints line and word counts and the most frequent words once
// a second, and reports once the text producer's done event arrives. Signals and the exit
// code are as for runSystemConsumer(), with lines in place of events.
int runTextConsumer(const QString &poolName, TerminationSignals &terminationSignals);

} // namespace demo
