// SPDX-License-Identifier: MIT
#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>
#include <QVariantMap>

namespace demo {

// One child process of the demo and what it reported.
struct Child
{
    QString role;
    QStringList arguments;
    QProcess process;
    qint64 pid = 0; // kept because QProcess reports 0 once the process has finished
    bool ready = false;
    QVariantMap report;
};

} // namespace demo
