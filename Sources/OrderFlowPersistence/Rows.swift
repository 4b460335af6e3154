import OrderFlowDomain
import SQLKit
import Synchronization

enum Rows {
    // Row properties are camelCase, columns snake_case. SQLKit's own snake-case strategies convert
    // every key of every row again (a tenth of the intake's CPU time when measured); these ask
    // `ColumnNames`, which converts each key once.
    static let decoder = SQLRowDecoder(
        keyDecodingStrategy: .custom { path in
            SomeCodingKey(stringValue: ColumnNames.column(for: path.last!.stringValue))
        })
    static let encoder = SQLQueryEncoder(
        keyEncodingStrategy: .custom { path in
            SomeCodingKey(stringValue: ColumnNames.column(for: path.last!.stringValue))
        },
        nilEncodingStrategy: .asNil)
}

/// camelCase property names to snake_case column names (`t1MembershipId` → `t1_membership_id`,
/// `isForceAllocation` → `is_force_allocation`), each converted once and then remembered.
enum ColumnNames {
    private static let known = Mutex<[String: String]>([:])

    static func column(for key: String) -> String {
        if let column = known.withLock({ $0[key] }) { return column }
        let column = snakeCase(key)
        known.withLock { $0[key] = column }
        return column
    }

    /// A word starts at an upper-case letter after a lower-case letter or a digit, and at the last
    /// capital of a run followed by a lower-case letter (`HTTPStatus` → `http_status`).
    static func snakeCase(_ key: String) -> String {
        let characters = Array(key)
        var column = ""
        for (index, character) in characters.enumerated() {
            guard character.isUppercase else {
                column.append(character)
                continue
            }
            if index > 0 {
                let previous = characters[index - 1]
                let next = index + 1 < characters.count ? characters[index + 1] : nil
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && next?.isLowercase == true) {
                    column.append("_")
                }
            }
            column += character.lowercased()
        }
        return column
    }
}

extension SQLDatabase {
    /// One multi-row INSERT of rows given as `columnValues` (all with the same columns).
    ///
    /// Written as SQL text rather than through SQLKit's builder, which quotes and escapes every
    /// identifier of every row again: the table and column names are the code's own constants,
    /// never input. The same number of rows gives the same text, so a kept prepared statement
    /// serves it again.
    func insert(into table: String, rows: [[(column: String, value: any Encodable & Sendable)]]) async throws {
        guard let first = rows.first else { return }
        var sql = SQLQueryString(
            "INSERT INTO \(unsafeRaw: table) (\(unsafeRaw: first.map(\.column).joined(separator: ", "))) VALUES ")
        for (index, row) in rows.enumerated() {
            sql.appendLiteral(index == 0 ? "(" : ", (")
            for (position, column) in row.enumerated() {
                if position > 0 { sql.appendLiteral(", ") }
                sql.appendInterpolation(bind: column.value)
            }
            sql.appendLiteral(")")
        }
        try await raw(sql).run()
    }
}

/// A row of one table, decoded with `Rows.decoder`. It knows its table, so a value it cannot read
/// is reported with the table and column it sits in.
protocol TableRow: Decodable {
    static var table: String { get }
}

extension TableRow {
    /// `raw` read as a `T`, or `PersistenceError.corruptRow` naming this row's table and `column`.
    static func parse<T: RawRepresentable>(_ raw: T.RawValue, as type: T.Type = T.self, column: String) throws -> T {
        guard let value = T(rawValue: raw) else {
            throw PersistenceError.corruptRow(table: table, column: column, value: "\(raw)")
        }
        return value
    }
}

extension SQLRow {
    /// The row as a `TableRow` (camelCase properties from snake_case columns).
    func decode<Row: TableRow>(_ type: Row.Type) throws -> Row {
        try decode(model: Row.self, with: Rows.decoder)
    }
}

extension Optional where Wrapped == Int64 {
    /// Microseconds as a time.
    var time: Timestamp? { map(Timestamp.init(microseconds:)) }
}

extension Int64 {
    /// Microseconds as a time.
    var time: Timestamp { Timestamp(microseconds: self) }
}

/// A caller's order scope as a condition on the orders table (`alias`), for queries that join it.
enum OrderScopeSQL {
    /// ` AND …` narrowing to the scope; nothing for `.everything`.
    static func condition(_ scope: OrderScope, order alias: String) -> SQLQueryString {
        switch scope {
        case .everything: return ""
        case .nothing: return " AND 1 = 0"
        case .locations(let locations):
            guard !locations.isEmpty else { return " AND 1 = 0" }
            return " AND \(unsafeRaw: alias).location_id IN (\(binds: locations.map(\.rawValue)))"
        case .customer(let id): return " AND \(unsafeRaw: alias).customer_id = \(bind: id)"
        }
    }
}
