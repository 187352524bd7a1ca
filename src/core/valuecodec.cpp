// SPDX-License-Identifier: MIT
#include "valuecodec_p.h"

#include <QCborArray>
#include <QCborMap>
#include <QCborValue>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>
#include <QUrl>
#include <QUuid>

namespace mvent {

namespace {

constexpr int MaxNesting = 256; // deeper values are rejected rather than risk the stack

QString unsupported(const QVariant &value)
{
    const char *name = value.metaType().name();
    return QStringLiteral("values of type %1 cannot be stored: it has no CBOR form; convert it to "
                          "a QVariantMap, QVariantList, QString or QByteArray first")
            .arg(QLatin1String(name ? name : "unknown"));
}

std::optional<QCborValue> toCbor(const QVariant &value, int depth, QString *errorMessage)
{
    if (depth > MaxNesting) {
        *errorMessage = QStringLiteral("value nests deeper than %1 levels").arg(MaxNesting);
        return std::nullopt;
    }
    switch (value.metaType().id()) {
    case QMetaType::UnknownType:
    case QMetaType::Nullptr:
        return QCborValue(QCborValue::Null);
    case QMetaType::Bool:
        return QCborValue(value.toBool());
    case QMetaType::Int:
    case QMetaType::Long:
    case QMetaType::LongLong:
    case QMetaType::Short:
    case QMetaType::SChar:
    case QMetaType::Char:
    case QMetaType::UInt:
    case QMetaType::UShort:
    case QMetaType::UChar:
        return QCborValue(value.toLongLong());
    case QMetaType::ULong: // 64 bits on LP64, so it can exceed qint64 like ULongLong
    case QMetaType::ULongLong: {
        const qulonglong number = value.toULongLong();
        if (number > qulonglong(std::numeric_limits<qint64>::max())) {
            *errorMessage = QStringLiteral("unsigned value %1 exceeds the largest storable "
                                           "integer %2; store it as a string or double")
                                    .arg(number)
                                    .arg(std::numeric_limits<qint64>::max());
            return std::nullopt;
        }
        return QCborValue(qint64(number));
    }
    case QMetaType::Float:
    case QMetaType::Double:
        return QCborValue(value.toDouble());
    case QMetaType::QString: {
        const QString text = value.toString();
        if (!text.isValidUtf16()) {
            *errorMessage = QStringLiteral("string value contains an unpaired UTF-16 surrogate, "
                                           "which UTF-8 and CBOR cannot carry; store it as bytes");
            return std::nullopt;
        }
        return QCborValue(text);
    }
    case QMetaType::QByteArray:
        return QCborValue(value.toByteArray());
    case QMetaType::QDateTime:
    case QMetaType::QUrl:
    case QMetaType::QUuid:
    case QMetaType::QJsonValue:
    case QMetaType::QJsonObject:
    case QMetaType::QJsonArray:
    case QMetaType::QJsonDocument:
    case QMetaType::QCborValue:
    case QMetaType::QCborMap:
    case QMetaType::QCborArray:
    case QMetaType::QCborSimpleType:
        return QCborValue::fromVariant(value);
    case QMetaType::QStringList:
    case QMetaType::QVariantList: {
        QCborArray array;
        const QVariantList list = value.toList();
        for (const QVariant &item : list) {
            std::optional<QCborValue> converted = toCbor(item, depth + 1, errorMessage);
            if (!converted) {
                return std::nullopt;
            }
            array.append(*converted);
        }
        return QCborValue(array);
    }
    case QMetaType::QVariantMap:
    case QMetaType::QVariantHash: {
        QCborMap map;
        const QVariantMap source = value.toMap();
        for (auto it = source.cbegin(); it != source.cend(); ++it) {
            if (!it.key().isValidUtf16()) {
                *errorMessage = QStringLiteral("map key contains an unpaired UTF-16 surrogate, "
                                               "which UTF-8 and CBOR cannot carry");
                return std::nullopt;
            }
            std::optional<QCborValue> converted = toCbor(it.value(), depth + 1, errorMessage);
            if (!converted) {
                return std::nullopt;
            }
            map.insert(it.key(), *converted);
        }
        return QCborValue(map);
    }
    default:
        *errorMessage = unsupported(value);
        return std::nullopt;
    }
}

} // namespace

std::optional<EncodedValue> ValueCodec::encode(const QVariant &value, QString *errorMessage)
{
    if (value.metaType().id() == QMetaType::QByteArray) {
        return EncodedValue{value.toByteArray(), EncodingRawBytes};
    }
    std::optional<QCborValue> cbor = toCbor(value, 0, errorMessage);
    if (!cbor) {
        return std::nullopt;
    }
    return EncodedValue{cbor->toCbor(), EncodingCbor};
}

QVariant ValueCodec::decode(QByteArrayView bytes, quint32 encoding)
{
    return decode(bytes.toByteArray(), encoding);
}

QVariant ValueCodec::decode(const QByteArray &bytes, quint32 encoding)
{
    if (encoding == EncodingRawBytes) {
        return QVariant(bytes);
    }
    QCborParserError error;
    const QCborValue cbor = QCborValue::fromCbor(bytes, &error);
    if (error.error != QCborError::NoError) {
        return QVariant();
    }
    return cbor.toVariant();
}

} // namespace mvent
