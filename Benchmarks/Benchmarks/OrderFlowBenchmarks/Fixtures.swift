import Foundation
import OrderFlowAPI
import OrderFlowDomain

/// Fixed inputs, so runs are repeatable: request bodies as the simulator sends them
/// (`OrderGenerator` in Sources/OrderFlowSimulator), the demo catalog's stores and products
/// (Sources/OrderFlowServer/Demo/DemoCatalog.swift), and what intake makes of them.
enum Fixtures {
    /// A one-line delivery order from a QC small-format store: force-allocated, cash on delivery.
    static let oneLineBody = Data("""
        {"orderId":"SIM-QCBKK-1001","shipFromLocationId":"QC-BKK-001","channel":"app","isForceAllocation":true,\
        "paymentMethod":"cod","customer":{"id":"CUST-1042","name":"Somchai Jaidee","phone":"+66812345678",\
        "email":"somchai1042@example.com"},"lines":[{"sku":"COF-AMZ-250","quantity":2}],"orderType":"delivery",\
        "deliveryAddress":{"line1":"123 Sukhumvit Soi 24","city":"Bangkok","postalCode":"10110","country":"TH"},\
        "charges":[{"type":"delivery","amount":"25.00"}]}
        """.utf8)

    /// A four-line delivery order from the distribution centre, paid by card.
    static let fourLineBody = Data("""
        {"orderId":"SIM-STDBKK-2002","shipFromLocationId":"STD-BKK-DC1","channel":"web","isForceAllocation":false,\
        "paymentMethod":"card","customer":{"id":"CUST-1077","name":"Malee Srisuk","phone":"+66819876543",\
        "email":"malee1077@example.com"},"lines":[{"sku":"RIC-HOM-5KG","quantity":1},{"sku":"MLK-MEJ-1L","quantity":3},\
        {"sku":"NDL-MAM-PORK","quantity":2},{"sku":"TIS-SCT-6","quantity":1}],"orderType":"delivery",\
        "deliveryAddress":{"line1":"88 Sukhumvit Soi 55","city":"Bangkok","postalCode":"10110","country":"TH"},\
        "charges":[{"type":"delivery","amount":"25.00"}]}
        """.utf8)

    /// The demo catalog: every location, every product (shelf prices include 7 % VAT).
    static let catalog: CatalogSnapshot = {
        let locations = [
            Location(id: LocationID("QC-BKK-001"), name: "Sukhumvit 24", region: "BKK", format: .qcSmallFormat),
            Location(id: LocationID("QC-BKK-002"), name: "Ari", region: "BKK", format: .qcSmallFormat),
            Location(id: LocationID("QC-BKK-003"), name: "Thonglor", region: "BKK", format: .qcSmallFormat),
            Location(id: LocationID("QC-CNX-001"), name: "Nimman", region: "CNX", format: .qcSmallFormat),
            Location(id: LocationID("STD-BKK-DC1"), name: "Bangna distribution centre", region: "BKK", format: .standard),
            Location(id: LocationID("STD-CNX-001"), name: "Chiang Mai Festival", region: "CNX", format: .standard),
        ]
        let products: [(String, String, String, String)] = [
            ("COF-AMZ-250", "Amazon Café coffee beans 250 g", "beverages", "159.00"),
            ("COF-NES-3IN1", "Nescafé 3in1, 27 sticks", "beverages", "119.00"),
            ("WAT-SNG-1500", "Singha drinking water 1.5 L", "beverages", "14.00"),
            ("MLK-MEJ-1L", "Meiji fresh milk 1 L", "dairy", "52.00"),
            ("EGG-CPF-10", "CP fresh eggs, 10 pack", "fresh", "55.00"),
            ("RIC-HOM-5KG", "Hom Mali jasmine rice 5 kg", "grocery", "215.00"),
            ("NDL-MAM-PORK", "Mama instant noodles, pork, 10 pack", "grocery", "65.00"),
            ("SNK-LAY-75", "Lay's classic 75 g", "snacks", "30.00"),
            ("TPS-COL-150", "Colgate toothpaste 150 g", "personal care", "65.00"),
            ("TIS-SCT-6", "Scott tissue, 6 rolls", "household", "75.00"),
        ]
        return CatalogSnapshot(
            locations: Dictionary(uniqueKeysWithValues: locations.map { ($0.id, $0) }),
            products: Dictionary(uniqueKeysWithValues: products.map { sku, name, category, price in
                (SKU(sku), Product(
                    sku: SKU(sku), name: name, category: category, unitPrice: Money(decimal: price)!,
                    taxRate: Percent(decimal: "7")!, taxIncluded: true,
                    imageURL: "https://images.example.com/\(sku.lowercased()).png"))
            }),
            defaultImageURL: "https://images.example.com/placeholder.png")
    }()

    /// What the server reads before intake (`CatalogRepository.snapshot`): the order's location
    /// and the products its lines name.
    static func snapshot(for draft: OrderDraft) -> CatalogSnapshot {
        let location = LocationID(draft.shipFromLocationID)
        let skus = Set(draft.lines.map { SKU($0.sku) })
        return CatalogSnapshot(
            locations: catalog.locations.filter { $0.key == location },
            products: catalog.products.filter { skus.contains($0.key) },
            defaultImageURL: catalog.defaultImageURL)
    }

    static let now = Timestamp(microseconds: 1_795_000_000_123_456)

    static let oneLineRequest = decode(oneLineBody)
    static let fourLineRequest = decode(fourLineBody)
    static let oneLineDraft = Representation.draft(oneLineRequest)
    static let fourLineDraft = Representation.draft(fourLineRequest)
    static let oneLineSnapshot = snapshot(for: oneLineDraft)
    static let fourLineSnapshot = snapshot(for: fourLineDraft)
    static let oneLineOrder = prepare(oneLineDraft, oneLineSnapshot)
    static let fourLineOrder = prepare(fourLineDraft, fourLineSnapshot)

    /// The one-line order as a careless client sends it: paid by card at a QC store (rule I),
    /// without force allocation (rule C), for a SKU the catalog does not have (rule H).
    static let rejectedDraft: OrderDraft = {
        var draft = oneLineDraft
        draft.paymentMethod = .card
        draft.isForceAllocation = nil
        draft.lines[0].sku = "COF-AMZ-999"
        do throws(DomainError) {
            _ = try OrderIntake.prepare(draft, catalog: snapshot(for: draft), at: now)
            fatalError("the rejected fixture was accepted")
        } catch {
            guard case .validationFailed(let errors) = error, Set(errors.map(\.rule)) == ["C", "H", "I"] else {
                fatalError("the rejected fixture failed differently: \(error)")
            }
        }
        return draft
    }()
    static let rejectedSnapshot = snapshot(for: rejectedDraft)

    /// The first history row, as `createOrder` writes it.
    static func created(_ order: Order) -> [StatusChange] {
        [StatusChange(status: order.status, paymentStatus: order.paymentStatus, at: order.createdAt, reason: nil, actor: "key:bench")]
    }

    static let oneLineResponse = Representation.order(oneLineOrder, history: created(oneLineOrder))
    static let fourLineResponse = Representation.order(fourLineOrder, history: created(fourLineOrder))

    /// Transmissions at every stage: (deadline, acknowledged at, failed, now).
    static let transmissions: [(Timestamp, Timestamp?, Bool, Timestamp)] = {
        let deadline = Timestamp(microseconds: now.microseconds + 30_000_000)
        return [
            (deadline, nil, false, now),  // pending
            (deadline, now.adding(seconds: 2.5), false, now.adding(seconds: 2.5)),  // success
            (deadline, deadline, false, deadline),  // success, exactly at the deadline
            (deadline, deadline.adding(seconds: 4), false, deadline.adding(seconds: 4)),  // success, late
            (deadline, nil, false, deadline.adding(seconds: 1)),  // delayed
            (deadline, nil, true, now.adding(seconds: 12)),  // failed
            (deadline, nil, false, deadline),  // pending, at the deadline
            (deadline, now.adding(seconds: 0.2), false, now.adding(seconds: 0.2)),  // success
        ]
    }()

    /// Order references as channels write them back.
    static let references = [
        "SIM-STDBKK-2002", "ord-000123", "OMS 123", "000123-CE", "ORD000123", "so_2002_ack", " SIM-QCBKK-1001 ", "PHX-000042-V1",
    ]

    private static func decode(_ body: Data) -> Components.Schemas.CreateOrderRequest {
        do {
            return try APICoders.decoder().decode(Components.Schemas.CreateOrderRequest.self, from: body)
        } catch {
            fatalError("fixture does not decode as a CreateOrderRequest: \(error)")
        }
    }

    private static func prepare(_ draft: OrderDraft, _ snapshot: CatalogSnapshot) -> Order {
        do {
            return try OrderIntake.prepare(draft, catalog: snapshot, at: now)
        } catch {
            fatalError("fixture \(draft.orderID) is rejected by intake: \(error)")
        }
    }
}
