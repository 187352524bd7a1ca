// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

namespace demo {

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
// Returns 0 only if every child succeeded and no consumer lost an event.
int runOrchestrator(const DemoOptions &options);

} // namespace demo
