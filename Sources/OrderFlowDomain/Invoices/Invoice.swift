import Foundation

/// One invoice of the live invoice stream (seed 003 §7.1): amounts in whole cents, VAT 15 % of the
/// subtotal, total = subtotal + VAT, all positive.
public struct Invoice: Sendable, Hashable {
    /// Storage key, in production order; 0 before it is stored.
    public var id: Int64
    /// `INV-<cycle>-<index>`: unique, and the same if a restarted producer makes it again.
    public var number: String
    public var cycle: Int64
    /// Position in its cycle, from 0.
    public var index: Int
    public var issuedAt: Timestamp
    public var seller: String
    public var buyer: String
    public var amounts: InvoiceAmounts

    public init(
        id: Int64 = 0, cycle: Int64, index: Int, issuedAt: Timestamp, seller: String, buyer: String,
        amounts: InvoiceAmounts
    ) {
        self.id = id
        self.number = Self.number(cycle: cycle, index: index)
        self.cycle = cycle
        self.index = index
        self.issuedAt = issuedAt
        self.seller = seller
        self.buyer = buyer
        self.amounts = amounts
    }

    public static func number(cycle: Int64, index: Int) -> String {
        "INV-\(cycle)-\(String(format: "%04d", index + 1))"
    }
}

/// Subtotal, VAT and total in cents.
///
/// The rounding rule: VAT is 15 % of the subtotal rounded half up to the cent,
/// `vat = (subtotal × 15 + 50) / 100` in integers. The database checks the same expression, so an
/// invoice that breaks the rule cannot be stored whoever writes it.
public struct InvoiceAmounts: Sendable, Hashable {
    public let subtotalCents: Int64
    public let vatCents: Int64
    public var totalCents: Int64 { subtotalCents + vatCents }

    public static let vatPercent: Int64 = 15

    /// Nil unless the subtotal is positive (and small enough for DECIMAL(12,2)).
    public init?(subtotalCents: Int64) {
        guard subtotalCents > 0, subtotalCents < 100_000_000_000 else { return nil }
        self.subtotalCents = subtotalCents
        self.vatCents = Self.vat(of: subtotalCents)
    }

    public static func vat(of subtotalCents: Int64) -> Int64 {
        (subtotalCents * vatPercent + 50) / 100
    }

    /// "1234.50" for 123450 cents.
    public static func text(_ cents: Int64) -> String {
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        return "\(sign)\(magnitude / 100).\(magnitude % 100 < 10 ? "0" : "")\(magnitude % 100)"
    }
}

/// Running totals of every invoice ever stored: kept beside the invoices and changed in the same
/// transaction as each insert, so reading them is one row, never a sum over the table.
public struct InvoiceStats: Sendable, Hashable {
    public var count: Int64
    public var subtotalCents: Int64
    public var vatCents: Int64
    public var totalCents: Int64

    public init(count: Int64 = 0, subtotalCents: Int64 = 0, vatCents: Int64 = 0, totalCents: Int64 = 0) {
        self.count = count
        self.subtotalCents = subtotalCents
        self.vatCents = vatCents
        self.totalCents = totalCents
    }

    public mutating func add(_ amounts: InvoiceAmounts) {
        count += 1
        subtotalCents += amounts.subtotalCents
        vatCents += amounts.vatCents
        totalCents += amounts.totalCents
    }

    /// The mean total in cents, rounded half up; nil before the first invoice.
    public var averageCents: Int64? {
        count == 0 ? nil : (totalCents * 2 + count) / (count * 2)
    }
}

/// Where the invoice stream is (seed 003 §6.2): Idle → Running → Stopping → Processing backlog →
/// Idle. A cycle that runs its five minutes goes from Running to Processing backlog by itself.
public enum InvoiceStreamState: String, Sendable, CaseIterable {
    case idle
    case running
    case stopping
    case processingBacklog = "processing_backlog"

    public var name: String {
        switch self {
        case .idle: "Idle"
        case .running: "Running"
        case .stopping: "Stopping"
        case .processingBacklog: "Processing backlog"
        }
    }
}

/// The pace of seed 003: 5 invoices a second for 5 minutes (1,500 a cycle), shown to people at
/// most 2 a second.
public struct InvoicePace: Sendable, Hashable {
    public var perCycle: Int
    /// Microseconds between two invoices of a cycle.
    public var productionInterval: Int64
    /// Microseconds between two invoices shown.
    public var displayInterval: Int64

    public init(perCycle: Int = 1_500, productionInterval: Int64 = 200_000, displayInterval: Int64 = 500_000) {
        self.perCycle = perCycle
        self.productionInterval = productionInterval
        self.displayInterval = displayInterval
    }

    /// When invoice `index` of a cycle started at `start` is due.
    public func due(_ index: Int, start: Timestamp) -> Timestamp {
        Timestamp(microseconds: start.microseconds + Int64(index) * productionInterval)
    }
}

/// Random invoices: company names from two word lists, subtotals from 10.00 to 5,000.00.
public struct InvoiceMaker: Sendable {
    static let first = [
        "Siam", "Chao Phraya", "Lanna", "Andaman", "Golden", "Northern", "Pacific", "Lotus", "Eastern", "Riverside",
        "Summit", "Bangkok", "Harbor", "Orchid", "Silverline", "Mekong", "Coral", "Teak", "Jasmine", "Horizon",
    ]
    static let second = [
        "Trading", "Foods", "Logistics", "Textiles", "Electronics", "Supplies", "Retail", "Imports", "Hardware",
        "Beverages",
        "Packaging", "Farms", "Pharma", "Furniture", "Motors", "Paper", "Ceramics", "Digital", "Rubber", "Garments",
    ]
    static let suffix = ["Co., Ltd.", "Public Co., Ltd.", "Group", "Partnership", "Enterprise"]

    public init() {}

    public func company(using random: inout some RandomNumberGenerator) -> String {
        "\(Self.first.randomElement(using: &random)!) \(Self.second.randomElement(using: &random)!) \(Self.suffix.randomElement(using: &random)!)"
    }

    public func make(cycle: Int64, index: Int, at time: Timestamp, using random: inout some RandomNumberGenerator)
        -> Invoice
    {
        let seller = company(using: &random)
        var buyer = company(using: &random)
        while buyer == seller { buyer = company(using: &random) }
        let amounts = InvoiceAmounts(subtotalCents: Int64.random(in: 1_000...500_000, using: &random))!
        return Invoice(cycle: cycle, index: index, issuedAt: time, seller: seller, buyer: buyer, amounts: amounts)
    }
}
