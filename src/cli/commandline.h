// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QCommandLineParser>
#include <QString>
#include <QStringList>

#include <optional>

namespace mvent::cli {

// Exit statuses, as grep and diff use them.
enum ExitCode {
    ExitSuccess = 0,
    ExitFailure = 1, // the operation failed: pool or key not found, invalid JSON, pool error
    ExitUsage = 2 // wrong argument count, unknown command or option, invalid option value
};

/*! Writes \a bytes to standard output unchanged. */
void writeOutput(const QByteArray &bytes);
/*! Writes "mvent: <message>" and a newline to standard error. */
void printError(const QString &message);
/*! Returns the parse error of \a parser as a clause: lower-case start, no final period. */
QString parserErrorReason(const QCommandLineParser &parser);
/*! Prints \a message as printError() does and returns ExitUsage. */
int usageError(const QString &message);

/*!
    Parser for the options and positional arguments of one command, with the usage line
    "mvent <command> [options] <arguments>" and a --help option.
*/
class CommandLine
{
public:
    /*!
        \a arguments is the usage text after the options, such as "POOL KEY", and
        \a description is printed under the usage line.
    */
    CommandLine(const QString &command, const QString &arguments, const QString &description);

    QCommandLineParser &parser() { return m_parser; }
    QString command() const { return m_command; }

    /*!
        Parses \a arguments, which follow the command name. Returns std::nullopt when the
        command should run. Otherwise returns the exit code to end with: ExitSuccess after
        printing help for --help, ExitUsage after an error for an unknown option, a missing
        option value, or a positional argument count outside \a minPositional to
        \a maxPositional.
    */
    std::optional<int> parse(const QStringList &arguments, int minPositional, int maxPositional);

    /*! Returns the help text that --help prints. */
    QString helpText() const;

    /*! Prints "<message>; run 'mvent <command> --help' for usage" and returns ExitUsage. */
    int usageError(const QString &message) const;

private:
    QString m_command;
    QString m_arguments;
    QCommandLineParser m_parser;
    QCommandLineOption m_helpOption;
};

} // namespace mvent::cli
