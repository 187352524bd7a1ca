// SPDX-License-Identifier: MIT
#include "commandline.h"

#include <sharedmemorypool.h>

#include <QFile>
#include <QLoggingCategory>
#include <QRegularExpression>

#include <algorithm>
#include <cstdio>

namespace mvent::cli {

namespace {

// Help text width, as QCommandLineParser uses for option descriptions.
constexpr qsizetype HelpWidth = 79;

// Breaks \a text into lines of at most HelpWidth characters at spaces, because
// QCommandLineParser prints the application description without wrapping it.
QString wrapText(const QString &text)
{
    QString wrapped;
    qsizetype lineLength = 0;
    const QStringList words = text.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    for (const QString &word : words) {
        if (lineLength > 0 && lineLength + 1 + word.size() > HelpWidth) {
            wrapped += QLatin1Char('\n');
            lineLength = 0;
        } else if (lineLength > 0) {
            wrapped += QLatin1Char(' ');
            ++lineLength;
        }
        wrapped += word;
        lineLength += word.size();
    }
    return wrapped;
}

// Returns true if QCommandLineParser, parsing single-dash arguments as compacted short
// options, reads the option \a name from \a argument.
bool argumentNamesOption(const QString &argument, const QString &name)
{
    if (argument.startsWith(QLatin1String("--"))) {
        return argument.mid(2).section(QLatin1Char('='), 0, 0) == name;
    }
    return argument.startsWith(QLatin1Char('-')) && name.size() == 1
            && argument.indexOf(name, 1) > 0;
}

// Quotes \a argument for a POSIX shell when it contains other characters than these.
QString shellQuoted(const QString &argument)
{
    static const QRegularExpression plain(QStringLiteral("^[A-Za-z0-9_./:=@%+,-]+$"));
    if (plain.match(argument).hasMatch()) {
        return argument;
    }
    QString quoted = argument;
    quoted.replace(QLatin1Char('\''), QLatin1String("'\\''"));
    return QLatin1Char('\'') + quoted + QLatin1Char('\'');
}

} // namespace

void setLibraryLogging(bool verbose)
{
    if (verbose) {
        QLoggingCategory::setFilterRules(QStringLiteral("mvent.*.info=true\n"
                                                        "mvent.*.warning=true"));
        return;
    }
    // A library warning such as "cannot attach to pool x" repeats the error that the tool
    // prints itself, so the user would read each failure twice.
    QLoggingCategory::setFilterRules(QStringLiteral("mvent.*.info=false\n"
                                                    "mvent.*.warning=false\n"
                                                    "mvent.metrics.warning=true"));
}

const QCommandLineOption &verboseOption()
{
    static const QCommandLineOption option(
            QStringLiteral("verbose"),
            QStringLiteral("Also print the info and warning messages of the mvent library, "
                           "such as pool creation and repairs."));
    return option;
}

QStringList typedUnknownOptions(const QCommandLineParser &parser, const QStringList &arguments)
{
    const qsizetype end = arguments.indexOf(QLatin1String("--"));
    const QStringList searched = end < 0 ? arguments : arguments.first(end);

    QStringList typed;
    const QStringList names = parser.unknownOptionNames();
    for (const QString &name : names) {
        const auto found =
                std::find_if(searched.cbegin(), searched.cend(), [&name](const QString &argument) {
                    return argumentNamesOption(argument, name);
                });
        QString argument;
        if (found != searched.cend() && found->startsWith(QLatin1String("--"))) {
            argument = found->section(QLatin1Char('='), 0, 0); // without the value
        } else if (found != searched.cend()) {
            argument = *found; // all of "-5" or of compacted short options such as "-xvf"
        } else {
            // Every reported name should match an argument. If none does, show the name.
            argument = (name.size() == 1 ? QStringLiteral("-") : QStringLiteral("--")) + name;
        }
        if (!typed.contains(argument)) {
            typed.append(argument);
        }
    }
    return typed;
}

QString unknownOptionsReason(const QStringList &typedOptions)
{
    QStringList quoted;
    for (const QString &option : typedOptions) {
        quoted.append(QLatin1Char('\'') + option + QLatin1Char('\''));
    }
    const QString noun =
            typedOptions.size() == 1 ? QStringLiteral("option") : QStringLiteral("options");
    return QStringLiteral("unknown %1 %2").arg(noun, quoted.join(QStringLiteral(", ")));
}

QString poolArgumentDescription(const QString &consequence)
{
    QString description = QStringLiteral("Pool name: 1 to 64 of the characters A-Z a-z 0-9 . _ "
                                         "-, not starting with '.'.");
    if (!consequence.isEmpty()) {
        description += QLatin1Char(' ') + consequence;
    }
    return description;
}

QString parserErrorReason(const QCommandLineParser &parser)
{
    QString reason = parser.errorText();
    if (reason.endsWith(QLatin1Char('.'))) {
        reason.chop(1);
    }
    if (!reason.isEmpty()) {
        reason[0] = reason[0].toLower();
    }
    return reason;
}

void writeOutput(const QByteArray &bytes)
{
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stdout);
}

void printError(const QString &message)
{
    const QByteArray line = "mvent: " + message.toLocal8Bit() + '\n';
    std::fflush(stdout);
    std::fwrite(line.constData(), 1, size_t(line.size()), stderr);
}

int usageError(const QString &message)
{
    printError(message);
    return ExitUsage;
}

CommandLine::CommandLine(const QString &command, const QString &arguments,
                         const QString &description)
    : m_command(command),
      m_arguments(arguments),
      m_helpOption({ QStringLiteral("h"), QStringLiteral("help") },
                   QStringLiteral("Print this help and exit."))
{
    m_parser.setApplicationDescription(wrapText(description));
    m_parser.addOption(m_helpOption);
    m_parser.addOption(verboseOption());
}

std::optional<int> CommandLine::parse(const QStringList &arguments, int minPositional,
                                      int maxPositional)
{
    // QCommandLineParser skips the first entry as the program name.
    if (!m_parser.parse(QStringList{ QStringLiteral("mvent") } + arguments)) {
        const QStringList unknownOptions = typedUnknownOptions(m_parser, arguments);
        if (!unknownOptions.isEmpty()) {
            return unknownOptionError(unknownOptions, arguments);
        }
        return usageError(parserErrorReason(m_parser));
    }

    if (m_parser.isSet(m_helpOption)) {
        writeOutput(helpText().toLocal8Bit());
        return ExitSuccess;
    }
    if (m_parser.isSet(verboseOption())) {
        setLibraryLogging(true);
    }

    const qsizetype count = m_parser.positionalArguments().size();
    if (count < minPositional || count > maxPositional) {
        const QString expected =
                m_arguments.isEmpty() ? QStringLiteral("no arguments") : m_arguments;
        const QString got = count == 1 ? QStringLiteral("1 argument")
                                       : QStringLiteral("%1 arguments").arg(count);
        return usageError(
                QStringLiteral("'%1' expects %2 but got %3").arg(m_command, expected, got));
    }
    return std::nullopt;
}

QString CommandLine::helpText() const
{
    // Qt's usage line reads "Usage: mvent [options] <positional names>". This one names the
    // command as well.
    QString text = m_parser.helpText();
    const qsizetype firstLineEnd = text.indexOf(QLatin1Char('\n'));
    QString usage = QStringLiteral("Usage: mvent %1 [options]").arg(m_command);
    if (!m_arguments.isEmpty()) {
        usage += QLatin1Char(' ') + m_arguments;
    }
    return usage + text.mid(firstLineEnd);
}

int CommandLine::unknownOptionError(const QStringList &typedOptions,
                                    const QStringList &arguments) const
{
    const QString reason = unknownOptionsReason(typedOptions);
    // A single-dash argument is often a value, such as -5, rather than a mistyped option.
    const auto value =
            std::find_if(typedOptions.cbegin(), typedOptions.cend(), [](const QString &option) {
                return !option.startsWith(QLatin1String("--"));
            });
    if (value == typedOptions.cend()) {
        return usageError(reason);
    }

    const QString hint = QStringLiteral("%1; to pass '%2' as an argument, put -- before it and "
                                        "after any options")
                                 .arg(reason, *value);
    // The example only inserts --, so it is correct only when the value is the one unknown
    // option and no option follows it.
    const qsizetype position = arguments.indexOf(*value);
    const QStringList following = arguments.mid(position + 1);
    const bool optionFollows =
            std::any_of(following.cbegin(), following.cend(), [](const QString &argument) {
                return argument.startsWith(QLatin1Char('-')) && argument != QLatin1String("-");
            });
    if (typedOptions.size() > 1 || position < 0 || optionFollows) {
        return cli::usageError(hint);
    }

    QStringList example{ QStringLiteral("mvent"), m_command };
    for (qsizetype i = 0; i < arguments.size(); ++i) {
        if (i == position) {
            example.append(QStringLiteral("--"));
        }
        example.append(shellQuoted(arguments.at(i)));
    }
    return cli::usageError(
            QStringLiteral("%1, for example: %2").arg(hint, example.join(QLatin1Char(' '))));
}

int CommandLine::usageError(const QString &message) const
{
    return cli::usageError(
            QStringLiteral("%1; run 'mvent %2 --help' for usage").arg(message, m_command));
}

std::optional<qint64> CommandLine::integerOption(const QCommandLineOption &option,
                                                qint64 minimum, const QString &expected,
                                                qint64 maximum)
{
    const QString text = m_parser.value(option);
    bool ok = false;
    const qint64 value = text.toLongLong(&ok);
    if (ok && value >= minimum && value <= maximum) {
        return value;
    }
    usageError(QStringLiteral("invalid --%1 value '%2': expected %3")
                       .arg(option.names().constFirst(), text, expected));
    return std::nullopt;
}

QByteArray valueArgumentText(const QString &argument)
{
    if (argument != QLatin1String("-")) {
        return argument.toUtf8();
    }
    QFile input;
    if (!input.open(stdin, QIODevice::ReadOnly)) {
        return QByteArray();
    }
    return input.readAll();
}

QString missingPoolHint()
{
    return QStringLiteral(" in %1; run 'mvent pools' to list the pools there")
            .arg(SharedMemoryPool::runtimeDirectory());
}

QByteArray tableText(const QList<QStringList> &rows)
{
    QList<qsizetype> widths;
    for (const QStringList &row : rows) {
        for (qsizetype column = 0; column < row.size(); ++column) {
            if (widths.size() <= column) {
                widths.append(0);
            }
            widths[column] = qMax(widths[column], row[column].size());
        }
    }

    QString text;
    for (const QStringList &row : rows) {
        QString line;
        for (qsizetype column = 0; column < row.size(); ++column) {
            const bool last = column == row.size() - 1;
            line += last ? row[column] : row[column].leftJustified(widths[column] + 2);
        }
        text += line + QLatin1Char('\n');
    }
    return text.toLocal8Bit();
}

} // namespace mvent::cli
