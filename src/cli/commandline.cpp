// SPDX-License-Identifier: MIT
#include "commandline.h"

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

} // namespace

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
}

std::optional<int> CommandLine::parse(const QStringList &arguments, int minPositional,
                                      int maxPositional)
{
    // QCommandLineParser skips the first entry as the program name.
    if (!m_parser.parse(QStringList{ QStringLiteral("mvent") } + arguments)) {
        return usageError(parserErrorReason(m_parser));
    }

    if (m_parser.isSet(m_helpOption)) {
        writeOutput(helpText().toLocal8Bit());
        return ExitSuccess;
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

int CommandLine::usageError(const QString &message) const
{
    return cli::usageError(
            QStringLiteral("%1; run 'mvent %2 --help' for usage").arg(message, m_command));
}

} // namespace mvent::cli
