import OrderFlowDomain
import Testing

@Suite("Calculations Cal A–F")
struct OrderCalculationTests {
    @Test func vatInclusiveOrderFromTheQCStore() throws {
        let order = try Fixtures.prepare(Fixtures.draft())
        let coffee = order.lines[0].amounts
        #expect(coffee.gross.description == "214.0000")
        #expect(coffee.net.description == "214.0000")
        #expect(coffee.includedTax.description == "14.0000")
        #expect(coffee.total.description == "214.0000")
        let water = order.lines[1].amounts
        #expect(water.gross.description == "55.5000")
        #expect(water.discount.description == "3.5000")
        #expect(water.net.description == "52.0000")
        // 52 × 7 / 107 = 3.40186… → 3.4019
        #expect(water.includedTax.description == "3.4019")

        let totals = order.totals
        #expect(totals.subTotal.description == "266.0000") // Cal A
        #expect(totals.totalCharge.description == "286.0000") // Cal B
        #expect(totals.orderTotal.description == "286.0000") // Cal C
        #expect(totals.totalDiscount.description == "3.5000") // Cal D
        #expect(totals.totalTaxes.description == "0.0000") // Cal E
        #expect(totals.informationalTaxes.description == "17.4019") // Cal F
        #expect(totals.totalFees.description == "20.0000")
        #expect(totals.roundingAdjustment == .zero)
    }

    @Test func exclusiveTaxesFeesAndCashRounding() throws {
        var draft = Fixtures.draft()
        draft.shipFromLocationID = "STD-CNX-001"
        draft.paymentMethod = .card
        draft.lines = [
            LineDraft(sku: "COFFEE-250", quantity: 1, unitPrice: "33.33", taxes: [TaxDraft(code: "VAT", rate: "7.25")]),
            LineDraft(
                sku: "WATER-1L", quantity: 3, unitPrice: "10.0005", discounts: [DiscountDraft(amount: "0.0015")],
                taxes: [TaxDraft(code: "vat", rate: "7"), TaxDraft(code: "ECO", rate: "0.5", inclusive: true)]),
        ]
        draft.charges = [ChargeDraft(kind: .delivery, amount: "15.0055")]
        let order = try Fixtures.prepare(draft)

        #expect(order.lines[0].taxes[0].amount.description == "2.4164") // 33.33 × 7.25 % = 2.416425
        #expect(order.lines[1].amounts.net.description == "30.0000")
        #expect(order.lines[1].taxes.map(\.code) == ["VAT", "ECO"])
        #expect(order.lines[1].taxes[0].amount.description == "2.1000")
        #expect(order.lines[1].taxes[1].amount.description == "0.1493") // 30 × 0.5 / 100.5 = 0.14925…
        #expect(order.lines[1].amounts.total.description == "32.1000")

        #expect(order.totals.subTotal.description == "63.3300")
        #expect(order.totals.totalTaxes.description == "4.5164")
        #expect(order.totals.informationalTaxes.description == "0.1493")
        #expect(order.totals.totalFees.description == "15.0055")
        #expect(order.totals.totalCharge.description == "82.8519")
        #expect(order.totals.orderTotal.description == "82.8500")
        #expect(order.totals.roundingAdjustment.description == "-0.0019")
    }

    @Test(arguments: [("0.125", "0.1300"), ("0.1249", "0.1200"), ("0.0050", "0.0100"), ("0.0049", "0.0000")])
    func orderTotalRoundsHalfAwayFromZeroToCents(price: String, total: String) throws {
        var draft = Fixtures.draft()
        draft.shipFromLocationID = "STD-CNX-001"
        draft.orderType = .pickup
        draft.deliveryAddress = nil
        draft.charges = []
        draft.lines = [LineDraft(sku: "WATER-1L", quantity: 1, unitPrice: price, taxes: [])]
        let order = try Fixtures.prepare(draft)
        #expect(order.totals.totalCharge == Money(decimal: price)!)
        #expect(order.totals.orderTotal.description == total)
    }

    @Test func largestAllowedOrderStaysExact() throws {
        var draft = Fixtures.draft()
        draft.lines = (0..<200).map { _ in
            LineDraft(
                sku: "COFFEE-250", quantity: 9_999, unitPrice: "9999999.9999",
                taxes: [TaxDraft(code: "VAT", rate: "100")])
        }
        draft.charges = []
        let order = try Fixtures.prepare(draft)
        // 200 × 9,999 × 9,999,999.9999 = 19,997,999,999,800.0200; taxed at 100 %, doubled.
        #expect(order.totals.subTotal.description == "19997999999800.0200")
        #expect(order.totals.totalCharge.description == "39995999999600.0400")
    }
}
