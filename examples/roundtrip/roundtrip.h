// SPDX-License-Identifier: MIT
#pragma once

#include <QList>
#include <QString>
#include <QVariant>

namespace roundtrip {

/*! One value that the writer stores and the reader expects to find unchanged. */
struct DemoEntry
{
    QString key;
    QVariant value;
    qint64 ttlMs = 0; // 0 keeps the value until the pool is removed
};

/*! Returns the entries of the demo in the order both roles print them. */
QList<DemoEntry> demoEntries();

/*!
    Creates the pool \a poolName, replacing one left by an earlier run, and stores
    demoEntries() and the writer's process id in it. Returns the process exit code.
*/
int runWriter(const QString &poolName);

/*!
    Attaches to the existing pool \a poolName, prints each demo entry with whether it matches
    the expected value, and removes the pool unless \a keepPool is true. Returns 0 when every
    entry matched and 1 otherwise.
*/
int runReader(const QString &poolName, bool keepPool);

} // namespace roundtrip
