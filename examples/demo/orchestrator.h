// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

namespace demo {

class TerminationSignals;

struct DemoOptions
{
    QString poolName;
    QString textPath;
    int durationSeconds = 10;
    int systemIntervalMs = 200; // between two samples of the system counters
    int lineIntervalMs = 10;    // between two text lines
};

// Creates the pool, starts both consumers and, once they are subscribed, both producers as
// child processes of this program, shows their live output and prints the final report.
// If a child exits without its report, or SIGINT or SIGTERM arrives, it stops every child and
// still prints the report and removes the pool. Returns 0 only if every child succeeded and
// no consumer lost an event, 128 plus the signal number after a signal, and 1 otherwise.
int runOrchestrator(const DemoOptions &options, TerminationSignals &terminationSignals);

} // namespace demo
