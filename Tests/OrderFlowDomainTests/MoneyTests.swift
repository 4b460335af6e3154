import OrderFlowDomain
import Testing

@Suite("Money and percentages")
struct MoneyTests {
    @Test(
        arguments: [
            ("0", 0), ("12", 120_000), ("12.5", 125_000), ("19.99", 199_900), ("0.0001", 1),
            ("-3.25", -32_500), ("99999999999999.9999", 999_999_999_999_999_999),
        ] as [(String, Int64)])
    func parsesDecimalStrings(text: String, units: Int64) {
        #expect(Money(decimal: text)?.units == units)
    }

    @Test(arguments: ["", "-", ".5", "5.", "1.23456", "1e3", "+1", " 1", "1,5", "1.2.3", "abc", "100000000000000"])
    func rejectsAnythingElse(text: String) {
        #expect(Money(decimal: text) == nil)
    }

    @Test func formatsWithFourDecimals() {
        #expect(Money(units: 199_900).description == "19.9900")
        #expect(Money(units: -5).description == "-0.0005")
        #expect(Money.zero.description == "0.0000")
    }

    @Test func roundsHalfAwayFromZeroForDisplay() {
        #expect(Money(decimal: "12.345")!.formatted(places: 2) == "12.35")
        #expect(Money(decimal: "12.3449")!.formatted(places: 2) == "12.34")
        #expect(Money(decimal: "-12.345")!.formatted(places: 2) == "-12.35")
        #expect(Money(decimal: "12.5")!.formatted(places: 0) == "13")
        #expect(Money(decimal: "0.005")!.rounded(toPlaces: 2) == Money(decimal: "0.01")!)
        #expect(Money(decimal: "0.0049")!.rounded(toPlaces: 2) == .zero)
    }

    @Test func taxOnTopRoundsAtTheFourthDecimal() {
        // 0.0005 × 10 % = 0.00005 exactly: the tie goes away from zero.
        #expect(Percent(decimal: "10")!.of(Money(decimal: "0.0005")!) == Money(decimal: "0.0001")!)
        #expect(Percent(decimal: "10")!.of(Money(decimal: "-0.0005")!) == Money(decimal: "-0.0001")!)
        // 0.0004 × 10 % = 0.00004: below the tie, rounds down.
        #expect(Percent(decimal: "10")!.of(Money(decimal: "0.0004")!) == .zero)
        #expect(Percent(decimal: "7")!.of(Money(decimal: "100")!) == Money(decimal: "7")!)
        #expect(Percent(decimal: "7.25")!.of(Money(decimal: "33.33")!) == Money(decimal: "2.4164")!)
    }

    @Test func includedTaxIsTheShareOfAGrossPrice() {
        #expect(Percent(decimal: "7")!.includedIn(Money(decimal: "107")!) == Money(decimal: "7")!)
        // 100 × 7 / 107 = 6.542056… → 6.5421
        #expect(Percent(decimal: "7")!.includedIn(Money(decimal: "100")!) == Money(decimal: "6.5421")!)
    }

    @Test func percentRejectsBadInput() {
        #expect(Percent(decimal: "7.12345") == nil)
        #expect(Percent(decimal: "1000") == nil)
        #expect(Percent(decimal: "x") == nil)
    }
}

@Suite("Timestamps")
struct TimestampTests {
    @Test(
        arguments: [
            (0, "1970-01-01T00:00:00.000000Z"),
            (1_795_000_000_123_456, "2026-11-18T11:06:40.123456Z"),
            (951_782_400_000_000, "2000-02-29T00:00:00.000000Z"),
            (-1, "1969-12-31T23:59:59.999999Z"),
            (4_102_444_799_999_999, "2099-12-31T23:59:59.999999Z"),
        ] as [(Int64, String)])
    func formatsRFC3339InUTC(microseconds: Int64, text: String) {
        #expect(Timestamp(microseconds: microseconds).description == text)
        #expect(Timestamp(rfc3339: text) == Timestamp(microseconds: microseconds), "parsing gives the instant back")
    }

    @Test func parsesFewerDecimalsAndRefusesWhatItDoesNotWrite() {
        #expect(Timestamp(rfc3339: "2026-11-18T11:06:40Z") == Timestamp(microseconds: 1_795_000_000_000_000))
        #expect(Timestamp(rfc3339: "2026-11-18T11:06:40.5Z") == Timestamp(microseconds: 1_795_000_000_500_000))
        #expect(Timestamp(rfc3339: "2026-11-18T11:06:40.123Z") == Timestamp(microseconds: 1_795_000_000_123_000))
        for text in [
            "", "2026-11-18T11:06:40", "2026-11-18T11:06:40+07:00", "2026-13-18T11:06:40Z", "2026-11-18 11:06:40Z",
            "2026-11-18T11:06:40.1234567Z", "2026-11-18T11:06:40.Z", "2026-1a-18T11:06:40Z",
        ] {
            #expect(Timestamp(rfc3339: text) == nil, "\(text)")
        }
    }

    @Test func millisecondsTruncate() {
        #expect(Timestamp.rfc3339(1_795_000_000_999_999, fractionDigits: 3) == "2026-11-18T11:06:40.999Z")
    }
}
