// SPDX-License-Identifier: MIT
#pragma once

#include "mvent_core_export.h"

#include <QByteArray>
#include <QVariant>

#include <optional>

namespace mvent {

// Encoding of the value bytes of an entry or event.
enum ValueEncoding : quint32 {
    EncodingCbor = 1,     // one CBOR data item (RFC 8949)
    EncodingRawBytes = 2, // a QByteArray stored unchanged
};

struct EncodedValue
{
    QByteArray bytes;
    quint32 encoding = EncodingCbor;
};

/*
    Converts between QVariant and the bytes stored in a segment. Values are CBOR so that other
    languages can read a pool; a QByteArray is stored as it is. Supported types: invalid
    (stored as null), nullptr, bool, the integer types, float, double, QString, QByteArray (raw
    at top level, a CBOR byte string when nested), QStringList, QVariantList, QVariantMap,
    QVariantHash, QDateTime, QUrl, QUuid, and the QJson and QCbor value types.
*/
class MVENT_CORE_EXPORT ValueCodec
{
public:
    // Returns std::nullopt and a message naming the type when a value has no CBOR form.
    static std::optional<EncodedValue> encode(const QVariant &value, QString *errorMessage);
    static QVariant decode(QByteArrayView bytes, quint32 encoding);
    // Shares bytes instead of copying them when they are a raw QByteArray value.
    static QVariant decode(const QByteArray &bytes, quint32 encoding);
};

} // namespace mvent
