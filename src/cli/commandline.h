// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QCommandLineParser>
#include <QList>
#include <QString>
#include <QStringList>

#include <limits>
#include <optional>

namespace mvent::cli {

// Exit statuses, as grep and diff use them. globalHelpText() documents the same rule.
enum ExitCode {
    ExitSuccess = 0,
    // The operation failed: pool or key not found, invalid pool name, key or JSON value, or a
    // pool error. The parser does not check positional arguments, so the operations report
    // invalid ones.
    ExitFailure = 1,
    // The command line cannot be parsed: unknown command or option, wrong argument count, or
    // a malformed option value such as --ttl=soon.
    ExitUsage = 2
};

/*!
    Sets the logging filter rules of the mvent.* categories. By default (\a verbose false) the
    info and warning messages of the library's categories are hidden, because the tool prints
    its own message for each error it reports. Critical messages and the warnings of the tool's
    own category mvent.metrics stay visible. With \a verbose, every mvent.* category prints
    info and warning messages. Qt applies QT_LOGGING_RULES after these rules, so it overrides
    them for the categories it names.
*/
void setLibraryLogging(bool verbose);

/*! Returns the --verbose option, which every command and the global parser accept. */
const QCommandLineOption &verboseOption();

/*! Writes \a bytes to standard output unchanged. */
void writeOutput(const QByteArray &bytes);
/*! Writes "mvent: <message>" and a newline to standard error. */
void printError(const QString &message);
/*! Returns the parse error of \a parser as a clause: lower-case start, no final period. */
QString parserErrorReason(const QCommandLineParser &parser);
/*! Prints \a message as printError() does and returns ExitUsage. */
int usageError(const QString &message);

/*!
    Returns the entries of \a arguments, as the user typed them, that \a parser reported as
    unknown options after parsing them, such as "-5" for the name "5" or "--tll" for
    "--tll=5". Arguments after "--" are not searched.
*/
QStringList typedUnknownOptions(const QCommandLineParser &parser, const QStringList &arguments);

/*! Returns "unknown option '-x'" or "unknown options '-x', '--y'" for \a typedOptions. */
QString unknownOptionsReason(const QStringList &typedOptions);

/*!
    Returns the help text for a POOL argument: the pool naming rule, followed by
    \a consequence when it is not empty.
*/
QString poolArgumentDescription(const QString &consequence = QString());

/*!
    Returns the hint for a pool that was not found: " in <runtime directory>; run 'mvent pools'
    to list the pools there", with a leading space, to append to the error message.
*/
QString missingPoolHint();

/*!
    Returns the text of a VALUE argument: standard input when \a argument is "-", else
    \a argument in UTF-8. An unreadable standard input gives an empty text.
*/
QByteArray valueArgumentText(const QString &argument);

/*! Formats \a rows as columns separated by two spaces, each as wide as its longest cell. */
QByteArray tableText(const QList<QStringList> &rows);

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
        \a maxPositional. An unknown option that starts with a single '-', such as the
        value -5, gets a hint to put -- before it. --verbose turns on the library's messages
        with setLibraryLogging().
    */
    std::optional<int> parse(const QStringList &arguments, int minPositional, int maxPositional);

    /*! Returns the help text that --help prints. */
    QString helpText() const;

    /*! Prints "<message>; run 'mvent <command> --help' for usage" and returns ExitUsage. */
    int usageError(const QString &message) const;

    /*!
        Returns the value of \a option as a whole number from \a minimum to \a maximum.
        Otherwise prints "invalid --<option> value '<value>': expected <expected>" as
        usageError() does and returns std::nullopt, so the caller returns ExitUsage.
    */
    std::optional<qint64> integerOption(const QCommandLineOption &option, qint64 minimum,
                                        const QString &expected,
                                        qint64 maximum = std::numeric_limits<qint64>::max());

private:
    int unknownOptionError(const QStringList &typedOptions, const QStringList &arguments) const;

    QString m_command;
    QString m_arguments;
    QCommandLineParser m_parser;
    QCommandLineOption m_helpOption;
};

} // namespace mvent::cli
