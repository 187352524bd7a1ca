// SPDX-License-Identifier: MIT
#include "jsontext.h"

#include "commandline.h"

#include <QCborValue>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>

#include <limits>

namespace mvent::cli {

namespace {

bool isAsciiDigit(char c)
{
    return c >= '0' && c <= '9';
}

// Returns true for the characters that can follow the first one in a JSON number.
bool isNumberCharacter(char c)
{
    return isAsciiDigit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}

} // namespace

std::optional<QVariant> variantFromJson(const QByteArray &text, QString *errorMessage)
{
    // QJsonDocument in Qt 6.4 parses only an object or an array at the top level, so the
    // text is parsed as the single element of an array.
    const QByteArray wrapped = '[' + text + ']';
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(wrapped, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        // Offsets count bytes of the wrapped text, one more than in the caller's text.
        const qsizetype offset =
                qBound(qsizetype(0), qsizetype(parseError.offset) - 1, text.size());
        *errorMessage =
                QStringLiteral("%1 at byte offset %2").arg(parseError.errorString()).arg(offset);
        return std::nullopt;
    }

    const QJsonArray elements = document.array();
    if (elements.isEmpty()) {
        *errorMessage = QStringLiteral("the text contains no JSON value");
        return std::nullopt;
    }
    if (elements.size() > 1) {
        *errorMessage = QStringLiteral("the text contains %1 comma-separated values instead of "
                                       "one; wrap them in [ ] to store an array")
                                .arg(elements.size());
        return std::nullopt;
    }

    // Going through QCborValue mirrors jsonFromVariant(), which converts back the same way.
    return QCborValue::fromJsonValue(elements.first()).toVariant();
}

QString invalidJsonMessage(const QString &target, const QByteArray &text, const QString &parseError,
                           bool offerRaw)
{
    QString message = QStringLiteral("invalid JSON value for %1: %2").arg(target, parseError);
    const QByteArray trimmed = text.trimmed();
    if (trimmed.startsWith('{')) {
        return message
                + QStringLiteral("; object keys must be double-quoted strings, as in "
                                 "'{\"max\": 42}'");
    }
    if (trimmed.startsWith('[')) {
        return message; // no advice fits every element type
    }
    message += QStringLiteral("; quote a string as '\"text\"'");
    if (offerRaw) {
        message += QStringLiteral(", or store the text as bytes with --raw");
    }
    return message;
}

std::optional<QByteArray> outOfRangeInteger(const QByteArray &text)
{
    bool inString = false;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const char c = text.at(i);
        if (inString) {
            if (c == '\\') {
                ++i; // the escaped character cannot end the string
            } else if (c == '"') {
                inString = false;
            }
            continue;
        }
        if (c == '"') {
            inString = true;
            continue;
        }
        // Outside strings, valid JSON contains digits and '-' only in numbers.
        if (c != '-' && !isAsciiDigit(c)) {
            continue;
        }
        qsizetype end = i + 1;
        while (end < text.size() && isNumberCharacter(text.at(end))) {
            ++end;
        }
        const QByteArray number = text.mid(i, end - i);
        i = end - 1;
        if (number.contains('.') || number.contains('e') || number.contains('E')) {
            continue;
        }
        bool ok = false;
        number.toLongLong(&ok, 10);
        if (!ok) {
            return number;
        }
    }
    return std::nullopt;
}

std::optional<QVariant> parseJsonValue(const QByteArray &text, const QString &target,
                                       bool offerRaw)
{
    QString parseError;
    std::optional<QVariant> value = variantFromJson(text, &parseError);
    if (!value) {
        printError(invalidJsonMessage(target, text, parseError, offerRaw));
        return std::nullopt;
    }

    // Qt parses such an integer as a double, which would silently round it.
    if (const std::optional<QByteArray> integer = outOfRangeInteger(text)) {
        const QString digits = QString::fromLatin1(*integer);
        printError(QStringLiteral("integer %1 in the value for %2 is outside the qint64 range "
                                  "%3 to %4; quote it as '\"%1\"' to store a string, or write "
                                  "it as %1.0 to store it rounded to a double")
                           .arg(digits, target)
                           .arg(std::numeric_limits<qint64>::min())
                           .arg(std::numeric_limits<qint64>::max()));
        return std::nullopt;
    }
    return value;
}

QByteArray jsonFromVariant(const QVariant &value, bool indented)
{
    const QJsonDocument::JsonFormat format =
            indented ? QJsonDocument::Indented : QJsonDocument::Compact;
    const QJsonValue json = QCborValue::fromVariant(value).toJsonValue();

    QByteArray text;
    if (json.isObject()) {
        text = QJsonDocument(json.toObject()).toJson(format);
    } else if (json.isArray()) {
        text = QJsonDocument(json.toArray()).toJson(format);
    } else {
        // A scalar is written as the only element of an array, and the brackets are cut off.
        const QByteArray wrapped = QJsonDocument(QJsonArray{ json }).toJson(QJsonDocument::Compact);
        text = wrapped.mid(1, wrapped.size() - 2);
    }

    if (!text.endsWith('\n')) {
        text.append('\n');
    }
    return text;
}

} // namespace mvent::cli
