// SPDX-License-Identifier: MIT
#pragma once

// The value format of pool-worker's churn mode, which the test checks after killing the
// worker. A value is the key, a NUL, the version (8 bytes), the payload length (4 bytes), the
// payload's qChecksum (2 bytes), then the payload. Numbers are little-endian.

#include <QByteArray>
#include <QString>
#include <QtEndian>

namespace churn {

constexpr int HeaderSize = 8 + 4 + 2;

inline char payloadByte(quint64 version, qsizetype index)
{
    return char(quint8(version * 131 + quint64(index) * 7));
}

inline QByteArray makeValue(const QString &key, quint64 version, qsizetype payloadSize)
{
    QByteArray payload(payloadSize, Qt::Uninitialized);
    for (qsizetype i = 0; i < payloadSize; ++i) {
        payload[i] = payloadByte(version, i);
    }
    QByteArray value = key.toUtf8();
    value.append('\0');
    char header[HeaderSize];
    qToLittleEndian(version, header);
    qToLittleEndian(quint32(payloadSize), header + 8);
    qToLittleEndian(qChecksum(payload), header + 12);
    value.append(header, HeaderSize);
    value.append(payload);
    return value;
}

// Checks value against the format and key. Returns false with the reason in *problem.
inline bool parseValue(const QByteArray &value, const QString &key, quint64 *version,
                       QString *problem)
{
    const QByteArray keyBytes = key.toUtf8();
    if (!value.startsWith(keyBytes + '\0')) {
        *problem = QStringLiteral("value does not start with its key");
        return false;
    }
    const qsizetype headerStart = keyBytes.size() + 1;
    if (value.size() < headerStart + HeaderSize) {
        *problem = QStringLiteral("value of %1 bytes is shorter than its header").arg(value.size());
        return false;
    }
    const char *header = value.constData() + headerStart;
    *version = qFromLittleEndian<quint64>(header);
    const quint32 payloadSize = qFromLittleEndian<quint32>(header + 8);
    const quint16 checksum = qFromLittleEndian<quint16>(header + 12);
    const QByteArray payload = value.mid(headerStart + HeaderSize);
    if (payload.size() != qsizetype(payloadSize)) {
        *problem = QStringLiteral("payload is %1 bytes, header records %2")
                           .arg(payload.size())
                           .arg(payloadSize);
        return false;
    }
    if (qChecksum(payload) != checksum) {
        *problem = QStringLiteral("payload checksum mismatch at version %1").arg(*version);
        return false;
    }
    for (qsizetype i = 0; i < payload.size(); ++i) {
        if (payload[i] != payloadByte(*version, i)) {
            *problem = QStringLiteral("payload byte %1 is wrong at version %2").arg(i).arg(*version);
            return false;
        }
    }
    return true;
}

} // namespace churn
