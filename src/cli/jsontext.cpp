// SPDX-License-Identifier: MIT
#include "jsontext.h"

#include "commandline.h"

#include <QCborValue>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>

namespace mvent::cli {

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

std::optional<QVariant> parseJsonValue(const QByteArray &text, const QString &target,
                                       bool offerRaw)
{
    QString parseError;
    std::optional<QVariant> value = variantFromJson(text, &parseError);
    if (!value) {
        printError(invalidJsonMessage(target, text, parseError, offerRaw));
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
