// SPDX-License-Identifier: MIT
#pragma once

#include "common.h"

#include <QStringList>

#include <optional>

namespace bench {

struct TransportInfo
{
    const char *name;
    const char *description;
    int (*run)(const RoleOptions &options); // null when the transport was not built
    const char *skipReason;                 // why run is null
    // Removes what a run may leave behind under name (pool, socket file, shared memory).
    void (*cleanup)(const QString &name);
    bool needsRouDi;
};

struct OrchestratorOptions
{
    RoleOptions child;   // counts handed to every child
    QStringList transports;
    QStringList placements;
    int repeat = 1;
    bool latency = true;
    bool throughput = true;
};

const TransportInfo *findTransport(const QString &name);
QStringList transportNames();
std::optional<Role> parseRole(const QString &name);

// Runs every requested transport in every placement and prints the tables; returns the exit
// code, 1 if any run failed.
int runOrchestrator(const OrchestratorOptions &options);

} // namespace bench
