// SPDX-License-Identifier: MIT
#include "valuecodec_p.h"

#include <QCborArray>
#include <QCborMap>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>
#include <QLine>
#include <QPoint>
#include <QRect>
#include <QSize>
#include <QTest>
#include <QUrl>
#include <QUuid>

#include <limits>

using namespace mvent;

namespace {

// Returns the integer 1 wrapped in `levels` single-item lists. Zero levels returns the integer.
QVariant nestedList(int levels)
{
    QVariant value = 1;
    for (int i = 0; i < levels; ++i) {
        value = QVariantList{value};
    }
    return value;
}

} // namespace

class tst_ValueCodec : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void roundTripKeepsValue_data();
    void roundTripKeepsValue();
    void byteArrayIsStoredRaw();
    void unsupportedTypeIsRejected_data();
    void unsupportedTypeIsRejected();
    void nestingAtLimitIsAccepted();
    void nestingBeyondLimitIsRejected();
    void unsignedOverflowIsRejected_data();
    void unsignedOverflowIsRejected();
    void largestSignedValueFitsAsUnsigned();
    void malformedCborDecodesToInvalid_data();
    void malformedCborDecodesToInvalid();
};

void tst_ValueCodec::roundTripKeepsValue_data()
{
    QTest::addColumn<QVariant>("input");
    QTest::addColumn<QVariant>("expected");

    const QDateTime when = QDateTime::fromMSecsSinceEpoch(Q_INT64_C(1700000000123), Qt::UTC);
    const QUuid uuid = QUuid::fromString(QStringLiteral("{67c8770b-44f1-410a-ab9a-f9b5446f13ee}"));
    const QUrl url(QStringLiteral("https://example.org/a?b=c#d"));

    QTest::newRow("invalid") << QVariant() << QVariant::fromValue(nullptr);
    QTest::newRow("nullptr") << QVariant::fromValue(nullptr) << QVariant::fromValue(nullptr);
    QTest::newRow("bool true") << QVariant(true) << QVariant(true);
    QTest::newRow("bool false") << QVariant(false) << QVariant(false);
    QTest::newRow("int") << QVariant(-42) << QVariant(qlonglong(-42));
    QTest::newRow("uint") << QVariant(4000000000u) << QVariant(qlonglong(4000000000LL));
    QTest::newRow("short") << QVariant::fromValue(short(-7)) << QVariant(qlonglong(-7));
    QTest::newRow("uchar") << QVariant::fromValue(uchar(200)) << QVariant(qlonglong(200));
    QTest::newRow("longlong max") << QVariant(std::numeric_limits<qlonglong>::max())
                                  << QVariant(std::numeric_limits<qlonglong>::max());
    QTest::newRow("longlong min") << QVariant(std::numeric_limits<qlonglong>::min())
                                  << QVariant(std::numeric_limits<qlonglong>::min());
    QTest::newRow("ulonglong small") << QVariant(qulonglong(12345)) << QVariant(qlonglong(12345));
    QTest::newRow("double") << QVariant(3.25) << QVariant(3.25);
    QTest::newRow("float") << QVariant(1.5f) << QVariant(1.5);
    QTest::newRow("string") << QVariant(QStringLiteral("hello")) << QVariant(QStringLiteral("hello"));
    QTest::newRow("empty string") << QVariant(QStringLiteral("")) << QVariant(QStringLiteral(""));
    QTest::newRow("non-ASCII string") << QVariant(QStringLiteral(u"grüße 日本"))
                                      << QVariant(QStringLiteral(u"grüße 日本"));
    QTest::newRow("byte array") << QVariant(QByteArray("\x00\x01\xff", 3))
                                << QVariant(QByteArray("\x00\x01\xff", 3));
    QTest::newRow("string list")
            << QVariant(QStringList{QStringLiteral("a"), QStringLiteral("b")})
            << QVariant(QVariantList{QStringLiteral("a"), QStringLiteral("b")});
    QTest::newRow("variant list")
            << QVariant(QVariantList{1, QStringLiteral("two"), 3.5, true, QByteArray("x")})
            << QVariant(QVariantList{qlonglong(1), QStringLiteral("two"), 3.5, true, QByteArray("x")});
    QTest::newRow("variant map")
            << QVariant(QVariantMap{{QStringLiteral("a"), 1},
                                    {QStringLiteral("b"), QVariantMap{{QStringLiteral("c"), QStringLiteral("d")}}}})
            << QVariant(QVariantMap{{QStringLiteral("a"), qlonglong(1)},
                                    {QStringLiteral("b"), QVariantMap{{QStringLiteral("c"), QStringLiteral("d")}}}});
    QTest::newRow("variant hash")
            << QVariant(QVariantHash{{QStringLiteral("k"), QStringLiteral("v")}})
            << QVariant(QVariantMap{{QStringLiteral("k"), QStringLiteral("v")}});
    QTest::newRow("date time") << QVariant(when) << QVariant(when);
    QTest::newRow("url") << QVariant(url) << QVariant(url);
    QTest::newRow("uuid") << QVariant(uuid) << QVariant(uuid);
    QTest::newRow("json object")
            << QVariant(QJsonObject{{QStringLiteral("n"), 2}, {QStringLiteral("s"), QStringLiteral("t")}})
            << QVariant(QVariantMap{{QStringLiteral("n"), qlonglong(2)}, {QStringLiteral("s"), QStringLiteral("t")}});
    QTest::newRow("json array")
            << QVariant(QJsonArray{1, QStringLiteral("x")})
            << QVariant(QVariantList{qlonglong(1), QStringLiteral("x")});
    QTest::newRow("cbor map")
            << QVariant::fromValue(QCborMap{{QStringLiteral("k"), 5}})
            << QVariant(QVariantMap{{QStringLiteral("k"), qlonglong(5)}});
    QTest::newRow("cbor array")
            << QVariant::fromValue(QCborArray{true, QStringLiteral("y")})
            << QVariant(QVariantList{true, QStringLiteral("y")});
}

void tst_ValueCodec::roundTripKeepsValue()
{
    QFETCH(QVariant, input);
    QFETCH(QVariant, expected);

    QString message;
    const std::optional<EncodedValue> encoded = ValueCodec::encode(input, &message);
    QVERIFY2(encoded.has_value(), qPrintable(message));
    QVERIFY(message.isEmpty());

    const QVariant decoded = ValueCodec::decode(encoded->bytes, encoded->encoding);
    QCOMPARE(decoded.metaType(), expected.metaType());
    QCOMPARE(decoded, expected);
}

void tst_ValueCodec::byteArrayIsStoredRaw()
{
    const QByteArray bytes("raw\x00payload", 11);
    QString message;

    const std::optional<EncodedValue> encoded = ValueCodec::encode(bytes, &message);

    QVERIFY2(encoded.has_value(), qPrintable(message));
    QCOMPARE(encoded->encoding, quint32(EncodingRawBytes));
    QCOMPARE(encoded->bytes, bytes);

    const std::optional<EncodedValue> text = ValueCodec::encode(QStringLiteral("x"), &message);
    QVERIFY2(text.has_value(), qPrintable(message));
    QCOMPARE(text->encoding, quint32(EncodingCbor));
}

void tst_ValueCodec::unsupportedTypeIsRejected_data()
{
    QTest::addColumn<QVariant>("input");
    QTest::addColumn<QString>("typeName");

    QTest::newRow("QPoint") << QVariant(QPoint(1, 2)) << QStringLiteral("QPoint");
    QTest::newRow("QPointF") << QVariant(QPointF(1.5, 2.5)) << QStringLiteral("QPointF");
    QTest::newRow("QSize") << QVariant(QSize(3, 4)) << QStringLiteral("QSize");
    QTest::newRow("QRect") << QVariant(QRect(0, 0, 5, 6)) << QStringLiteral("QRect");
    QTest::newRow("QLine") << QVariant(QLine(0, 0, 1, 1)) << QStringLiteral("QLine");
    QTest::newRow("QPoint inside a list")
            << QVariant(QVariantList{1, QPoint(1, 2)}) << QStringLiteral("QPoint");
    QTest::newRow("QSize inside a map")
            << QVariant(QVariantMap{{QStringLiteral("size"), QSize(1, 1)}}) << QStringLiteral("QSize");
    QTest::newRow("QRect two levels down")
            << QVariant(QVariantMap{{QStringLiteral("a"), QVariantList{QRect(1, 1, 1, 1)}}})
            << QStringLiteral("QRect");
    QTest::newRow("string with unpaired surrogate")
            << QVariant(QString(QChar(0xd800))) << QStringLiteral("surrogate");
    QTest::newRow("map key with unpaired surrogate")
            << QVariant(QVariantMap{{QString(QChar(0xdc00)), 1}}) << QStringLiteral("surrogate");
}

void tst_ValueCodec::unsupportedTypeIsRejected()
{
    QFETCH(QVariant, input);
    QFETCH(QString, typeName);

    QString message;
    const std::optional<EncodedValue> encoded = ValueCodec::encode(input, &message);

    QVERIFY(!encoded.has_value());
    QVERIFY2(message.contains(typeName), qPrintable(message));
}

void tst_ValueCodec::nestingAtLimitIsAccepted()
{
    QString message;
    const std::optional<EncodedValue> encoded = ValueCodec::encode(nestedList(256), &message);

    QVERIFY2(encoded.has_value(), qPrintable(message));
    QVariant decoded = ValueCodec::decode(encoded->bytes, encoded->encoding);
    for (int level = 0; level < 256; ++level) {
        QCOMPARE(decoded.metaType().id(), int(QMetaType::QVariantList));
        const QVariantList list = decoded.toList();
        QCOMPARE(list.size(), 1);
        decoded = list.first();
    }
    QCOMPARE(decoded, QVariant(qlonglong(1)));
}

void tst_ValueCodec::nestingBeyondLimitIsRejected()
{
    QString message;
    const std::optional<EncodedValue> encoded = ValueCodec::encode(nestedList(257), &message);

    QVERIFY(!encoded.has_value());
    QVERIFY2(message.contains(QStringLiteral("256")), qPrintable(message));
    QVERIFY2(message.contains(QStringLiteral("nests deeper")), qPrintable(message));
}

void tst_ValueCodec::unsignedOverflowIsRejected_data()
{
    QTest::addColumn<QVariant>("input");
    QTest::addColumn<QString>("number");

    constexpr quint64 JustOver = quint64(std::numeric_limits<qint64>::max()) + 1;
    QTest::newRow("ulonglong just over") << QVariant(qulonglong(JustOver))
                                         << QStringLiteral("9223372036854775808");
    QTest::newRow("ulonglong max") << QVariant(std::numeric_limits<qulonglong>::max())
                                   << QStringLiteral("18446744073709551615");
    QTest::newRow("ulong max") << QVariant::fromValue(std::numeric_limits<ulong>::max())
                               << QString::number(std::numeric_limits<ulong>::max());
    QTest::newRow("ulonglong in a list")
            << QVariant(QVariantList{QVariant(qulonglong(JustOver))})
            << QStringLiteral("9223372036854775808");
}

void tst_ValueCodec::unsignedOverflowIsRejected()
{
    QFETCH(QVariant, input);
    QFETCH(QString, number);

    QString message;
    const std::optional<EncodedValue> encoded = ValueCodec::encode(input, &message);

    const QString stored = encoded
            ? ValueCodec::decode(encoded->bytes, encoded->encoding).toString()
            : QString();
    QVERIFY2(!encoded.has_value(), qPrintable(QStringLiteral("stored as %1").arg(stored)));
    QVERIFY2(message.contains(number), qPrintable(message));
}

void tst_ValueCodec::largestSignedValueFitsAsUnsigned()
{
    const qulonglong largest = qulonglong(std::numeric_limits<qint64>::max());
    QString message;

    const std::optional<EncodedValue> encoded = ValueCodec::encode(QVariant(largest), &message);

    QVERIFY2(encoded.has_value(), qPrintable(message));
    QCOMPARE(ValueCodec::decode(encoded->bytes, encoded->encoding),
             QVariant(std::numeric_limits<qint64>::max()));
}

void tst_ValueCodec::malformedCborDecodesToInvalid_data()
{
    QTest::addColumn<QByteArray>("bytes");

    QTest::newRow("empty") << QByteArray();
    QTest::newRow("truncated text string") << QByteArray("\x65\x68\x65", 3);
    QTest::newRow("truncated map") << QByteArray("\xa2\x61\x61", 3);
    QTest::newRow("reserved additional info") << QByteArray("\x1c", 1);
}

void tst_ValueCodec::malformedCborDecodesToInvalid()
{
    QFETCH(QByteArray, bytes);

    const QVariant decoded = ValueCodec::decode(bytes, EncodingCbor);

    QVERIFY2(!decoded.isValid(), qPrintable(decoded.toString()));
}

QTEST_APPLESS_MAIN(tst_ValueCodec)
#include "tst_valuecodec.moc"
