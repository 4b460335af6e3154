import Foundation
import OrderFlowPersistence
import OrderFlowTestSupport
import SQLKit
import Testing

/// The SQLite writer runs statements itself and keeps them prepared: values must come back as
/// written, a kept statement must take new values each time, and a refused statement must leave
/// the connection as usable as before.
@Suite("SQLite writer", .databaseSlots)
struct SQLiteWriterTests {
    @Test func valuesRoundTripThroughKeptStatements() async throws {
        try await TestDatabase.with(.sqlite, migrated: false) { database in
            try await database.transaction { db in
                try await db.raw("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, amount REAL, data BLOB)").run()
            }
            let names = ["plain", "ไทย 🙂", "with\u{0}nul", "", String(repeating: "x", count: 10_000)]
            // The same SQL each time: one prepared statement, new values.
            for round in 0..<3 {
                try await database.transaction { db in
                    for (index, name) in names.enumerated() {
                        let id = round * 100 + index
                        try await db.raw(
                            """
                            INSERT INTO t (id, name, amount, data)
                            VALUES (\(bind: id), \(bind: name), \(bind: Double(id) / 4), NULL)
                            """
                        ).run()
                    }
                }
            }
            let rows = try await database.transaction { db in
                try await db.raw("SELECT id, name, amount, data FROM t ORDER BY id").all()
            }
            #expect(rows.count == 3 * names.count)
            for row in rows {
                let id = try row.decode(column: "id", as: Int.self)
                #expect(try row.decode(column: "name", as: String.self) == names[id % 100])
                #expect(try row.decode(column: "amount", as: Double.self) == Double(id) / 4)
                #expect(try row.decodeNil(column: "data"))
                #expect(row.allColumns == ["id", "name", "amount", "data"])
            }
        }
    }

    @Test func aRefusedStatementFailsAloneAndTheConnectionGoesOn() async throws {
        try await TestDatabase.with(.sqlite, migrated: false) { database in
            try await database.transaction { db in
                try await db.raw("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)").run()
                try await db.raw("INSERT INTO t (id, name) VALUES (1, 'one')").run()
            }
            await #expect(throws: (any Error).self) {
                try await database.transaction { db in
                    try await db.raw("INSERT INTO t (id, name) VALUES (\(bind: 2), \(bind: "two"))").run()
                    try await db.raw("INSERT INTO t (id, name) VALUES (\(bind: 3), \(bind: "one"))").run()
                }
            }
            // Rolled back as a whole; the same statements work again with other values.
            #expect(try await database.count("t") == 1)
            try await database.transaction { db in
                try await db.raw("INSERT INTO t (id, name) VALUES (\(bind: 2), \(bind: "two"))").run()
                try await db.raw("INSERT INTO t (id, name) VALUES (\(bind: 3), \(bind: "three"))").run()
            }
            #expect(try await database.count("t") == 3)
            await #expect(throws: (any Error).self) {
                try await database.transaction { db in try await db.raw("SELECT nothing FROM nowhere").run() }
            }
        }
    }

    @Test func aKeptSelectSeesTheColumnsOfAChangedTable() async throws {
        try await TestDatabase.with(.sqlite, migrated: false) { database in
            try await database.transaction { db in
                try await db.raw("CREATE TABLE t (a INTEGER, b TEXT)").run()
                try await db.raw("INSERT INTO t (a, b) VALUES (1, 'one')").run()
            }
            let before = try await database.transaction { db in try await db.raw("SELECT * FROM t").first() }
            #expect(before?.allColumns == ["a", "b"])
            // A migration changes the table: the same kept statement now names other columns.
            try await database.transaction { db in
                try await db.raw("ALTER TABLE t ADD COLUMN c TEXT DEFAULT 'new'").run()
                try await db.raw("ALTER TABLE t DROP COLUMN a").run()
            }
            let after = try #require(
                try await database.transaction { db in try await db.raw("SELECT * FROM t").first() })
            #expect(after.allColumns == ["b", "c"])
            #expect(try after.decode(column: "c", as: String.self) == "new")
            #expect(try after.decode(column: "b", as: String.self) == "one")
        }
    }

    @Test func moreDistinctStatementsThanAreKeptStillRun() async throws {
        try await TestDatabase.with(.sqlite, migrated: false) { database in
            try await database.transaction { db in try await db.raw("CREATE TABLE t (n INTEGER)").run() }
            try await database.transaction { db in
                // 2,700 different statements: past the 2,000 kept, those used longest ago are let go.
                for n in 0..<2_700 {
                    try await db.raw(SQLQueryString("INSERT INTO t (n) VALUES (" + String(n) + ")")).run()
                }
                for n in 0..<3 {
                    try await db.raw(SQLQueryString("INSERT INTO t (n) VALUES (" + String(n) + ")")).run()
                }
            }
            let sum = try await database.transaction { db in
                try await db.raw("SELECT SUM(n) AS s, COUNT(*) AS c FROM t").first()
            }
            #expect(try sum?.decode(column: "c", as: Int.self) == 2_703)
            #expect(try sum?.decode(column: "s", as: Int.self) == (0..<2_700).reduce(0, +) + 3)
        }
    }
}
