import OrderFlowDomain
import Testing

@Suite("Validation rules A–I and enrichment")
struct OrderValidationTests {
    /// Applies `change` to the valid fixture and returns (field, rule) pairs that failed.
    func failures(_ change: (inout OrderDraft) -> Void) -> [String] {
        var draft = Fixtures.draft()
        change(&draft)
        return Fixtures.errors(draft).map { "\($0.field) \($0.rule)" }
    }

    @Test func theFixtureIsValid() {
        #expect(failures { _ in } == [])
    }

    @Test func ruleAOrderIDFormat() throws {
        #expect(failures { $0.orderID = "ab" } == ["orderId A"])
        #expect(failures { $0.orderID = "-ORD1" } == ["orderId A"])
        #expect(failures { $0.orderID = "ORD 1" } == ["orderId A"])
        #expect(failures { $0.orderID = String(repeating: "A", count: 41) } == ["orderId A"])
        #expect(failures { $0.orderID = String(repeating: "A", count: 40) } == [])
        #expect(failures { $0.orderID = "  ord_7-x  " } == [])
        #expect(try Fixtures.prepare(Fixtures.draft()).id.rawValue == "ORD-1001")
    }

    @Test func ruleBLocationKnownAndConsistent() {
        #expect(failures { $0.shipFromLocationID = "NOPE-1" } == ["shipFromLocationId B"])
        #expect(failures { $0.shipFromLocationID = "bad location" } == ["shipFromLocationId B"])
        #expect(failures { $0.lines[1].shipFromLocationID = "STD-CNX-001" } == ["lines[1].shipFromLocationId B"])
        #expect(failures { $0.lines[1].shipFromLocationID = "qc-bkk-001" } == [])
    }

    @Test func ruleCForceAllocationAtQCStores() {
        #expect(failures { $0.isForceAllocation = false } == ["isForceAllocation C"])
        #expect(failures { $0.isForceAllocation = nil } == ["isForceAllocation C"])
        #expect(
            failures {
                $0.shipFromLocationID = "STD-CNX-001"
                $0.isForceAllocation = nil
            } == [])
    }

    @Test func rulesDEFOptionalReferences() {
        #expect(failures { $0.t1MembershipID = "12345" } == ["t1MembershipId D"])
        #expect(failures { $0.t1MembershipID = "12345678901234567" } == ["t1MembershipId D"])
        #expect(failures { $0.t1MembershipID = nil } == [])
        #expect(failures { $0.t1Number = "T1" } == ["t1Number E"])
        #expect(failures { $0.t1Number = "T1_0042" } == ["t1Number E"])
        #expect(failures { $0.t1Number = nil } == [])
        #expect(failures { $0.custRef = "has space" } == ["custRef F"])
        #expect(failures { $0.custRef = String(repeating: "x", count: 65) } == ["custRef F"])
        #expect(failures { $0.custRef = nil } == [])
    }

    @Test func ruleGCustomerProfile() {
        #expect(failures { $0.customer.id = "bad id!" } == ["customer.id G"])
        #expect(failures { $0.customer.name = "   " } == ["customer.name G"])
        #expect(failures { $0.customer.email = "not-an-email" } == ["customer.email G"])
        #expect(failures { $0.customer.phone = "12ab" } == ["customer.phone G"])
        #expect(
            failures {
                $0.customer.email = nil
                $0.customer.phone = nil
            } == ["customer G"])
        #expect(failures { $0.customer.id = nil } == [])
    }

    @Test func ruleHLineItems() {
        #expect(failures { $0.lines = [] } == ["lines H"])
        #expect(failures { $0.lines[0].sku = "NOPE" } == ["lines[0].sku H"])
        #expect(failures { $0.lines[0].sku = "OLD-1" } == ["lines[0].sku H"])
        #expect(failures { $0.lines[0].quantity = 0 } == ["lines[0].quantity H"])
        #expect(failures { $0.lines[0].quantity = -2 } == ["lines[0].quantity H"])
        #expect(failures { $0.lines[0].quantity = 10_000 } == ["lines[0].quantity H"])
        #expect(failures { $0.lines[0].unitPrice = "-1" } == ["lines[0].unitPrice H"])
        #expect(failures { $0.lines[0].unitPrice = "1.00001" } == ["lines[0].unitPrice H"])
        #expect(failures { $0.lines[0].unitPrice = "10000000" } == ["lines[0].unitPrice H"])
        #expect(failures { $0.lines[1].discounts = [DiscountDraft(amount: "55.5001")] } == ["lines[1].discounts H"])
        #expect(failures { $0.lines[1].discounts = [DiscountDraft(amount: "55.5")] } == [])
        #expect(failures { $0.lines[1].discounts = [DiscountDraft(amount: "0")] } == ["lines[1].discounts[0].amount H"])
        #expect(failures { $0.lines[0].taxes = [TaxDraft(code: "VAT", rate: "101")] } == ["lines[0].taxes[0].rate H"])
        #expect(
            failures { $0.lines[0].taxes = [TaxDraft(code: "VAT", rate: "7"), TaxDraft(code: "vat", rate: "1")] } == [
                "lines[0].taxes[1].code H"
            ])
        #expect(failures { $0.lines[0].imageURL = "ftp://x/y.png" } == ["lines[0].imageUrl H"])
        #expect(
            failures { $0.lines[0].shortDescription = String(repeating: "d", count: 201) } == [
                "lines[0].shortDescription H"
            ])
        #expect(failures { $0.lines[0].bundleRef = "has space" } == ["lines[0].bundleRef H"])
        #expect(
            failures { $0.lines = Array(repeating: LineDraft(sku: "WATER-1L", quantity: 1), count: 201) } == ["lines H"]
        )
    }

    @Test func ruleIOrderDetails() {
        #expect(failures { $0.paymentMethod = .card } == ["paymentMethod I"])
        #expect(failures { $0.deliveryAddress = nil } == ["deliveryAddress I"])
        #expect(failures { $0.deliveryAddress?.country = "THA" } == ["deliveryAddress.country I"])
        #expect(failures { $0.deliveryAddress?.postalCode = "1" } == ["deliveryAddress.postalCode I"])
        #expect(failures { $0.charges = [ChargeDraft(kind: .delivery, amount: "-5")] } == ["charges[0].amount I"])
        #expect(
            failures {
                $0.orderType = .pickup
                $0.deliveryAddress = nil
            } == [])
    }

    /// The rules as the API document's patterns state them: spaces, tabs and line breaks around a
    /// value are trimmed (`\r\n` too), lengths count scalars, and what was sent is checked before
    /// its case is changed (upper-casing `ı` or `ß` makes ASCII of what was not).
    @Test func rulesReadTextAsTheDocumentDoes() throws {
        #expect(failures { $0.customer.name = "\r\n Somchai Jaidee\r\n" } == [])
        #expect(failures { $0.orderID = "\r\nord-7\t" } == [])
        let thai = "สมชาย ใจดี" // 10 scalars, 9 characters: ี joins ด
        #expect(failures { $0.customer.name = String(repeating: thai, count: 10) } == [])
        #expect(failures { $0.customer.name = String(repeating: thai, count: 11) } == ["customer.name G"])
        #expect(failures { $0.orderID = "ORDı1" } == ["orderId A"])
        #expect(failures { $0.deliveryAddress?.country = "ß" } == ["deliveryAddress.country I"])
        #expect(failures { $0.t1Number = "T1-ı042" } == ["t1Number E"])
        #expect(failures { $0.customer.email = "somchai@\u{212A}ey.com" } == ["customer.email G"])
        let order = try Fixtures.prepare(Fixtures.draft())
        #expect(order.deliveryAddress?.country == "TH" && order.t1Number == "T1-0042")
        // As many discounts as a body holds: their sum is refused, not overflowed.
        #expect(
            failures {
                $0.lines[1].discounts = Array(repeating: DiscountDraft(amount: "99999999999"), count: 10_000)
            } == ["lines[1].discounts H"])
    }

    @Test func everyBrokenRuleIsReportedAtOnce() {
        let found = failures {
            $0.orderID = "x"
            $0.isForceAllocation = false
            $0.t1MembershipID = "1"
            $0.lines[0].quantity = 0
            $0.lines[1].sku = "NOPE"
        }
        #expect(
            Set(found) == [
                "orderId A", "isForceAllocation C", "t1MembershipId D", "lines[0].quantity H", "lines[1].sku H",
            ])
    }

    @Test func enrichmentFillsBlankDescriptionsAndImages() throws {
        var draft = Fixtures.draft()
        draft.lines[0].shortDescription = "  "
        draft.lines[1].shortDescription = "Water, six pack"
        let order = try Fixtures.prepare(draft)
        #expect(order.lines[0].shortDescription == "Arabica coffee 250 g")
        #expect(order.lines[0].imageURL == "https://img.example.com/coffee.png")
        #expect(order.lines[1].shortDescription == "Water, six pack")
        // WATER-1L has no catalog image: the configured default stands in.
        #expect(order.lines[1].imageURL == "https://img.example.com/placeholder.png")
        // Lines without taxes take the catalog's VAT.
        #expect(order.lines[0].taxes.map(\.code) == ["VAT"])
        #expect(order.lines[0].taxes.first?.inclusive == true)
        // Omitted prices come from the catalog.
        #expect(order.lines[0].unitPrice == Fixtures.coffee.unitPrice)
    }

    @Test func newOrdersStartOpenAndAwaitPayment() throws {
        let order = try Fixtures.prepare(Fixtures.draft())
        #expect(order.status == .open)
        #expect(order.paymentStatus == .awaitingPayment)
        #expect(order.customer.phone == "+66812345678")
        #expect(order.customer.email == "somchai@example.com")
        #expect(order.deliveryAddress?.country == "TH")
        #expect(order.lines.map(\.number) == [1, 2])
    }
}
