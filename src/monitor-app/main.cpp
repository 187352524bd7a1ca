// SPDX-License-Identifier: MIT
// mvent-monitor: a desktop dashboard of the user's mvent pools.

#include "logging.h"
#include "mainwindow.h"
#include "poollistmodel.h"
#include "poolmonitor.h"

#include <sharedmemorypool.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QPixmap>
#include <QTabWidget>
#include <QTimer>

#include <cstdio>
#include <memory>
#include <optional>

using namespace mvent;
using namespace mvent::monitor;

namespace {

struct Settings
{
    int intervalMs = PoolMonitor::DefaultIntervalMs;
    QString poolName;
    QString screenshotPath;
    int screenshotRefreshes = 1;
    int tab = 0;
};

// Names of the window's tabs for --tab, in tab order.
const QStringList tabNames{QStringLiteral("memory"), QStringLiteral("events"),
                           QStringLiteral("handlers"), QStringLiteral("processes")};

void printError(const QString &message)
{
    std::fprintf(stderr, "mvent-monitor: %s\n", qPrintable(message));
}

// Parses the command line. On invalid input it prints the error and returns nothing.
std::optional<Settings> parseArguments(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
            QCoreApplication::translate("main", "Shows the memory, events, handlers and processes "
                                                "of the user's mvent pools."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption intervalOption(
            QStringLiteral("interval"),
            QCoreApplication::translate("main", "Refresh interval in milliseconds, %1 to %2 "
                                                "(default: %3).")
                    .arg(PoolMonitor::MinIntervalMs)
                    .arg(PoolMonitor::MaxIntervalMs)
                    .arg(PoolMonitor::DefaultIntervalMs),
            QStringLiteral("MS"));
    const QCommandLineOption poolOption(
            QStringLiteral("pool"),
            QCoreApplication::translate("main", "Pool to select at start."), QStringLiteral("NAME"));
    const QCommandLineOption screenshotOption(
            QStringLiteral("screenshot"),
            QCoreApplication::translate("main", "Save an image of the window to FILE after the "
                                                "first refresh and exit. The file extension "
                                                "picks the format (.png, .jpg)."),
            QStringLiteral("FILE"));
    const QCommandLineOption refreshesOption(
            QStringLiteral("refreshes"),
            QCoreApplication::translate("main", "With --screenshot, the number of refreshes to "
                                                "wait for before the image is taken, so the "
                                                "charts have points (default: 1)."),
            QStringLiteral("N"));
    const QCommandLineOption tabOption(
            QStringLiteral("tab"),
            QCoreApplication::translate("main", "Tab to show at start: %1 (default: memory).")
                    .arg(tabNames.join(QStringLiteral(", "))),
            QStringLiteral("NAME"));
    parser.addOptions({intervalOption, poolOption, screenshotOption, refreshesOption, tabOption});
    parser.process(arguments);

    Settings settings;
    if (parser.isSet(intervalOption)) {
        bool ok = false;
        settings.intervalMs = parser.value(intervalOption).toInt(&ok);
        if (!ok || settings.intervalMs < PoolMonitor::MinIntervalMs
            || settings.intervalMs > PoolMonitor::MaxIntervalMs) {
            printError(QStringLiteral("invalid --interval '%1': expected milliseconds from %2 "
                                      "to %3")
                               .arg(parser.value(intervalOption))
                               .arg(PoolMonitor::MinIntervalMs)
                               .arg(PoolMonitor::MaxIntervalMs));
            return std::nullopt;
        }
    }
    settings.poolName = parser.value(poolOption);
    if (!settings.poolName.isEmpty() && !SharedMemoryPool::isValidName(settings.poolName)) {
        printError(QStringLiteral("invalid --pool '%1': use 1 to 64 of the characters "
                                  "A-Z a-z 0-9 . _ -")
                           .arg(settings.poolName));
        return std::nullopt;
    }
    settings.screenshotPath = parser.value(screenshotOption);
    if (parser.isSet(screenshotOption) && settings.screenshotPath.isEmpty()) {
        printError(QStringLiteral("missing file name for --screenshot"));
        return std::nullopt;
    }
    if (parser.isSet(refreshesOption)) {
        bool ok = false;
        settings.screenshotRefreshes = parser.value(refreshesOption).toInt(&ok);
        if (!ok || settings.screenshotRefreshes < 1) {
            printError(QStringLiteral("invalid --refreshes '%1': expected a positive number")
                               .arg(parser.value(refreshesOption)));
            return std::nullopt;
        }
    }
    if (parser.isSet(tabOption)) {
        settings.tab = int(tabNames.indexOf(parser.value(tabOption)));
        if (settings.tab < 0) {
            printError(QStringLiteral("invalid --tab '%1': expected one of %2")
                               .arg(parser.value(tabOption), tabNames.join(QStringLiteral(", "))));
            return std::nullopt;
        }
    }
    return settings;
}

// Saves an image of window to settings.screenshotPath once the monitor refreshed
// settings.screenshotRefreshes times, then quits the application with 0, or with 1 if the
// selected pool cannot be read or the file cannot be written.
void saveScreenshotAfterRefreshes(MainWindow *window, PoolMonitor *monitor,
                                  const Settings &settings)
{
    const auto screenshotTaken = std::make_shared<bool>(false);
    QObject::connect(monitor, &PoolMonitor::refreshed, window, [=] {
        if (*screenshotTaken || monitor->refreshCount() < quint64(settings.screenshotRefreshes)) {
            return;
        }
        *screenshotTaken = true;

        // The queued call lets the views lay out the rows of this refresh before the grab.
        QTimer::singleShot(0, window, [=] {
            if (!settings.poolName.isEmpty() && !monitor->isAttached()) {
                printError(QStringLiteral("failed to read pool '%1': %2")
                                   .arg(settings.poolName, monitor->errorString()));
                QCoreApplication::exit(1);
                return;
            }

            window->flushCharts();
            const QPixmap image = window->grab();
            if (!image.save(settings.screenshotPath)) {
                printError(QStringLiteral("failed to write the screenshot to '%1': check that "
                                          "the directory exists and the extension names an "
                                          "image format")
                                   .arg(settings.screenshotPath));
                QCoreApplication::exit(1);
                return;
            }
            std::printf("saved %dx%d screenshot to %s\n", image.width(), image.height(),
                        qPrintable(settings.screenshotPath));
            std::fflush(stdout);
            QCoreApplication::exit(0);
        });
    });
}

// Chooses the offscreen platform where no display is needed or none exists, so that --help
// and --screenshot work on a server, and explains a missing display instead of Qt's abort.
// Returns false if the window cannot be shown.
bool choosePlatform(int argc, char *argv[])
{
    if (qEnvironmentVariableIsSet("QT_QPA_PLATFORM") || qEnvironmentVariableIsSet("DISPLAY")
        || qEnvironmentVariableIsSet("WAYLAND_DISPLAY")) {
        return true;
    }
    bool headless = false;
    for (int i = 1; i < argc; ++i) {
        const QByteArrayView argument(argv[i]);
        if (argument == "-h" || argument == "--help" || argument == "--help-all"
            || argument == "-v" || argument == "--version" || argument.startsWith("--screenshot")) {
            headless = true;
        }
    }
    if (!headless) {
        std::fprintf(stderr, "mvent-monitor: no display found (DISPLAY and WAYLAND_DISPLAY are "
                             "unset); run it in a desktop session, under xvfb-run, or with "
                             "--screenshot FILE, which needs no display\n");
        return false;
    }
    qputenv("QT_QPA_PLATFORM", "offscreen");
    return true;
}

} // namespace

int main(int argc, char *argv[])
{
    if (!choosePlatform(argc, argv)) {
        return 2;
    }
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("mvent-monitor"));
    QApplication::setApplicationVersion(QStringLiteral(MVENT_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("mvent-monitor"));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/mvent-monitor.svg")));

    const std::optional<Settings> settings = parseArguments(app.arguments());
    if (!settings) {
        return 2;
    }

    PoolMonitor monitor;
    monitor.setInterval(settings->intervalMs);
    monitor.setPoolName(settings->poolName);

    MainWindow window(&monitor);
    window.tabs()->setCurrentIndex(settings->tab);
    if (!settings->screenshotPath.isEmpty()) {
        saveScreenshotAfterRefreshes(&window, &monitor, *settings);
    }
    window.show();
    monitor.start();

    const int status = app.exec();
    qCInfo(lcDashboard) << "stopped";
    return status;
}
