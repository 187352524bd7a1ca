// SPDX-License-Identifier: MIT
#include "commands.h"

#include <QCoreApplication>
#include <QLoggingCategory>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("mvent"));
    QCoreApplication::setApplicationVersion(QStringLiteral(MVENT_VERSION));

    // The tool reports each outcome itself, so the library's info messages, such as
    // "created pool", are off. QT_LOGGING_RULES="mvent.*.info=true" turns them back on.
    QLoggingCategory::setFilterRules(QStringLiteral("mvent.*.info=false"));
    qSetMessagePattern(QStringLiteral("mvent: %{category}: %{message}"));

    return mvent::cli::run(app.arguments());
}
