import Foundation
import OrderFlowDomain
import SQLKit

/// Stock per location and reservations against it. Stock never goes below zero: a reservation
/// takes all of its items or none, checked in the same statement that takes them.
public struct InventoryRepository: Sendable {
    public let database: Database
    let clock: any WallClock

    public init(database: Database, clock: any WallClock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    public func levels(of sku: SKU) async throws -> [StockLevel] {
        try await database.read { db in
            try await db.raw(
                "SELECT sku, location_id, on_hand, reserved FROM stock WHERE sku = \(bind: sku.rawValue) ORDER BY location_id"
            )
            .all().map(Self.level)
        }
    }

    /// Sets the counted stock of a SKU at a location.
    ///
    /// - Throws: `DomainError.notFound` for an unknown SKU or location; `DomainError.conflict`
    ///   if `onHand` is below what is already reserved.
    public func setOnHand(_ onHand: Int, sku: SKU, at location: LocationID) async throws -> StockLevel {
        let now = clock.now().microseconds
        return try await database.transaction { db in
            guard try await db.raw("SELECT sku FROM products WHERE sku = \(bind: sku.rawValue)").first() != nil else {
                throw DomainError.notFound(kind: "product", id: sku.rawValue)
            }
            guard try await db.raw("SELECT id FROM locations WHERE id = \(bind: location.rawValue)").first() != nil
            else {
                throw DomainError.notFound(kind: "location", id: location.rawValue)
            }
            let row = try await db.raw(
                """
                INSERT INTO stock (sku, location_id, on_hand, reserved, updated_at)
                VALUES (\(bind: sku.rawValue), \(bind: location.rawValue), \(bind: onHand), 0, \(bind: now))
                ON CONFLICT (sku, location_id) DO UPDATE SET on_hand = excluded.on_hand,
                    updated_at = excluded.updated_at
                WHERE stock.reserved <= excluded.on_hand
                RETURNING sku, location_id, on_hand, reserved
                """
            ).first()
            guard let row else {
                throw DomainError.conflict(
                    code: "stock_below_reserved", message: "on hand \(onHand) is below the quantity already reserved")
            }
            return try Self.level(row)
        }
    }

    /// Reserves every item or none.
    ///
    /// The same reservation ID with the same content returns the existing reservation
    /// (`replayed` true); with other content it is a conflict.
    /// - Throws: `DomainError.insufficientStock` naming each short item; `DomainError.conflict`.
    public func reserve(_ request: ReservationRequest) async throws -> (reservation: Reservation, replayed: Bool) {
        let now = clock.now()
        do {
            return try await database.transaction { db in try await Self.reserve(request, at: now, in: db) }
        } catch  where ConstraintViolation.isUnique(error) {
            // The same ID committed concurrently; answer as for a retry.
            if let existing = try await database.read({ db in try await Self.existing(request, in: db) }) {
                return (existing, true)
            }
            throw error
        }
    }

    /// Reserves inside a caller's transaction (the pipeline's allocation step).
    public static func reserve(_ request: ReservationRequest, at now: Timestamp, in db: any SQLDatabase) async throws
        -> (reservation: Reservation, replayed: Bool)
    {
        if let existing = try await existing(request, in: db) { return (existing, true) }
        var short: [FieldError] = []
        // SKU order keeps concurrent multi-item reservations from deadlocking on PostgreSQL.
        for (index, item) in request.items.enumerated().sorted(by: { $0.element.sku < $1.element.sku }) {
            let taken = try await db.raw(
                """
                UPDATE stock SET reserved = reserved + \(bind: item.quantity), updated_at = \(bind: now.microseconds)
                WHERE sku = \(bind: item.sku.rawValue) AND location_id = \(bind: request.location.rawValue)
                  AND on_hand - reserved >= \(bind: item.quantity)
                RETURNING sku
                """
            ).first()
            if taken == nil {
                let level = try await db.raw(
                    "SELECT sku, location_id, on_hand, reserved FROM stock WHERE sku = \(bind: item.sku.rawValue) AND location_id = \(bind: request.location.rawValue)"
                ).first().map(Self.level)
                short.append(
                    FieldError(
                        field: "items[\(index)].quantity", rule: "stock",
                        message:
                            "\(item.quantity) × \(item.sku) requested, \(level?.available ?? 0) available at \(request.location)"
                    ))
            }
        }
        if !short.isEmpty { throw DomainError.insufficientStock(short.sorted { $0.field < $1.field }) }
        try await db.raw(
            """
            INSERT INTO reservations (reservation_id, location_id, order_id, status, request_hash, created_at)
            VALUES (\(bind: request.reservationID), \(bind: request.location.rawValue),
                \(bind: request.orderID?.rawValue), 'reserved', \(bind: request.fingerprint), \(bind: now.microseconds))
            """
        ).run()
        for item in request.items {
            try await db.raw(
                """
                INSERT INTO reservation_items (reservation_id, sku, quantity)
                VALUES (\(bind: request.reservationID), \(bind: item.sku.rawValue), \(bind: item.quantity))
                """
            ).run()
        }
        return (
            Reservation(
                reservationID: request.reservationID, location: request.location, orderID: request.orderID,
                status: .reserved, items: request.items, createdAt: now, releasedAt: nil), false
        )
    }

    /// Releases a reservation's stock; releasing twice is harmless.
    /// - Throws: `DomainError.notFound` for an unknown reservation.
    public func release(_ reservationID: String) async throws -> Reservation {
        let now = clock.now()
        return try await database.transaction { db in try await Self.release(reservationID, at: now, in: db) }
    }

    /// Releases inside a caller's transaction (compensation).
    public static func release(_ reservationID: String, at time: Timestamp, in db: any SQLDatabase) async throws
        -> Reservation
    {
        let now = time.microseconds
        // Only the statement that flips the status gives stock back, so racing releases release once.
        let flipped =
            try await db.raw(
                """
                UPDATE reservations SET status = 'released', released_at = \(bind: now)
                WHERE reservation_id = \(bind: reservationID) AND status = 'reserved'
                RETURNING reservation_id
                """
            ).first() != nil
        guard let reservation = try await Self.load(reservationID, in: db) else {
            throw DomainError.notFound(kind: "reservation", id: reservationID)
        }
        if flipped {
            for item in reservation.items {
                try await db.raw(
                    """
                    UPDATE stock SET reserved = reserved - \(bind: item.quantity), updated_at = \(bind: now)
                    WHERE sku = \(bind: item.sku.rawValue) AND location_id = \(bind: reservation.location.rawValue)
                    """
                ).run()
            }
        }
        return reservation
    }

    public func reservation(_ reservationID: String) async throws -> Reservation? {
        try await database.read { db in try await Self.load(reservationID, in: db) }
    }

    static func existing(_ request: ReservationRequest, in db: any SQLDatabase) async throws -> Reservation? {
        guard
            let row = try await db.raw(
                "SELECT request_hash FROM reservations WHERE reservation_id = \(bind: request.reservationID)"
            ).first()
        else { return nil }
        guard try row.decode(column: "request_hash", as: String.self) == request.fingerprint else {
            throw DomainError.conflict(
                code: "reservation_id_reused",
                message: "reservation '\(request.reservationID)' exists with different items")
        }
        return try await load(request.reservationID, in: db)
    }

    static func load(_ id: String, in db: any SQLDatabase) async throws -> Reservation? {
        guard
            let row = try await db.raw(
                """
                SELECT reservation_id, location_id, order_id, status, created_at,
                    released_at FROM reservations WHERE reservation_id = \(bind: id)
                """
            ).first()
        else { return nil }
        let items = try await db.raw(
            "SELECT sku, quantity FROM reservation_items WHERE reservation_id = \(bind: id) ORDER BY sku"
        ).all().map {
            ReservationRequest.Item(
                sku: SKU(try $0.decode(column: "sku", as: String.self)),
                quantity: try $0.decode(column: "quantity", as: Int.self))
        }
        return try row.decode(ReservationRow.self).reservation(items: items)
    }

    static func level(_ row: any SQLRow) throws -> StockLevel {
        StockLevel(
            sku: SKU(try row.decode(column: "sku", as: String.self)),
            location: LocationID(try row.decode(column: "location_id", as: String.self)),
            onHand: try row.decode(column: "on_hand", as: Int.self),
            reserved: try row.decode(column: "reserved", as: Int.self))
    }
}

struct ReservationRow: TableRow {
    static let table = "reservations"
    var reservationId: String
    var locationId: String
    var orderId: String?
    var status: String
    var createdAt: Int64
    var releasedAt: Int64?

    func reservation(items: [ReservationRequest.Item]) throws -> Reservation {
        Reservation(
            reservationID: reservationId, location: LocationID(locationId), orderID: orderId.map(OrderID.init),
            status: try Self.parse(status, column: "status"), items: items, createdAt: createdAt.time,
            releasedAt: releasedAt.time)
    }
}
