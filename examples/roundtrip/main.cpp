// SPDX-License-Identifier: MIT
#include "roundtrip.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("mvent-roundtrip"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
            "Stores a few values in a shared-memory pool (--writer) or reads them back from a "
            "second process and checks them (--reader)."));
    parser.addHelpOption();
    const QCommandLineOption writerOption(QStringLiteral("writer"),
            QStringLiteral("Create the pool and store the demo values, then exit."));
    const QCommandLineOption readerOption(QStringLiteral("reader"),
            QStringLiteral("Read the values from the pool and check that each one matches."));
    const QCommandLineOption poolOption(QStringLiteral("pool"),
            QStringLiteral("Name of the pool, made of [A-Za-z0-9._-], at most 64 bytes."),
            QStringLiteral("name"), QStringLiteral("mvent-demo"));
    const QCommandLineOption keepOption(QStringLiteral("keep"),
            QStringLiteral("Reader only: leave the pool in place after checking it."));
    parser.addOptions({ writerOption, readerOption, poolOption, keepOption });
    parser.process(app);

    const bool isWriter = parser.isSet(writerOption);
    const bool isReader = parser.isSet(readerOption);
    if (isWriter == isReader) {
        QTextStream(stderr) << "mvent-roundtrip: expected exactly one of --writer and --reader.\n";
        return 2;
    }

    const QString poolName = parser.value(poolOption);
    if (isWriter) {
        return roundtrip::runWriter(poolName);
    }
    return roundtrip::runReader(poolName, parser.isSet(keepOption));
}
