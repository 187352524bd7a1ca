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
    Numbers with an integral value (1.0 and 1e3 included) become qint64, other numbers double,
    and null a std::nullptr_t value. On invalid JSON,
    returns std::nullopt and sets \a errorMessage to Qt's parse error and its byte offset.
*/
std::optional<QVariant> variantFromJson(const QByteArray &text, QString *errorMessage);

/*!
    Converts \a value to JSON text with QCborValue::toJsonValue() rules, so a QByteArray
    becomes a base64url string without padding. \a indented selects multi-line output.
    The text ends with a newline.
*/
QByteArray jsonFromVariant(const QVariant &value, bool indented);

} // namespace mvent::cli
