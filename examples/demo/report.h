// SPDX-License-Identifier: MIT
#pragma once

#include "child.h"

#include <QList>

#include <memory>
#include <vector>

namespace demo {

// End state of a demo run, for the result line of the report.
struct RunEnd
{
    int stopSignal = 0;       // SIGINT or SIGTERM if one of them stopped the demo
    bool childFailed = false; // a child exited without its report
    bool timedOut = false;    // the children did not finish within the time allowed
};

// Prints the table of what each child reported and the result line. The consumer at index i
// of consumers receives the events of the producer at index i of producers. Returns 0 if every
// child exited with status 0 after its report and every consumer received every event that
// its producer sent, and 1 otherwise.
int printReport(const std::vector<std::unique_ptr<Child>> &children,
                const QList<Child *> &consumers, const QList<Child *> &producers,
                const RunEnd &end);

} // namespace demo
