// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QString>
#include <QVariant>

#include <optional>

namespace mvent::cli {

/*!
    Parses \a text as one JSON value of any type, scalars included, and converts it to the
    QVariant that SharedMemoryPool stores. Objects become QVariantMap and arrays QVariantList.
    Numbers with an integral value in the qint64 range (1.0 and 1e3 included) become qint64,
    other numbers double, and null a std::nullptr_t value. On invalid JSON, returns
    std::nullopt and sets \a errorMessage to Qt's parse error and its byte offset.
*/
std::optional<QVariant> variantFromJson(const QByteArray &text, QString *errorMessage);

/*!
    Returns the error message for the \a text that variantFromJson() rejected with
    \a parseError, such as "invalid JSON value for key 'k': <parseError>; <advice>".
    \a target names what the value was for, such as "key 'k'". The advice depends on the
    first character of \a text other than whitespace. For an object it is that keys must be
    double-quoted strings. An array gets none, because its elements may be of any type. Other
    text gets how to quote a JSON string, and with \a offerRaw also how to store the text as
    bytes with --raw.
*/
QString invalidJsonMessage(const QString &target, const QByteArray &text, const QString &parseError,
                           bool offerRaw);

/*!
    Returns the first number in the valid JSON \a text that is written as an integer, without
    a fraction or exponent, and lies outside the qint64 range, such as 18446744073709551616.
    Returns std::nullopt if there is none. Numbers inside strings are skipped.
*/
std::optional<QByteArray> outOfRangeInteger(const QByteArray &text);

/*!
    Parses \a text as variantFromJson() does. On invalid JSON, prints invalidJsonMessage() for
    \a target and \a offerRaw with printError() and returns std::nullopt. Also rejects an
    integer that outOfRangeInteger() finds, because converting it to a double would store a
    rounded value.
*/
std::optional<QVariant> parseJsonValue(const QByteArray &text, const QString &target,
                                       bool offerRaw);

/*!
    Converts \a value to JSON text with QCborValue::toJsonValue() rules, so a QByteArray
    becomes a base64url string without padding. \a indented selects multi-line output.
    The text ends with a newline.
*/
QByteArray jsonFromVariant(const QVariant &value, bool indented);

} // namespace mvent::cli
