// SPDX-License-Identifier: MIT
#include "commandline.h"
#include "commands.h"

#include <QCoreApplication>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("mvent"));
    QCoreApplication::setApplicationVersion(QStringLiteral(MVENT_VERSION));

    // The tool reports each outcome itself, so the library's info and warning messages are
    // off unless --verbose or QT_LOGGING_RULES, such as "mvent.*.warning=true", turns them on.
    mvent::cli::setLibraryLogging(false);
    qSetMessagePattern(QStringLiteral("mvent: %{category}: %{message}"));

    return mvent::cli::run(app.arguments());
}
