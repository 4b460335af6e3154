import Foundation
import OrderFlowDomain
import Synchronization

/// RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF line ends.
enum CSV {
    static func render(_ rows: [[String]]) -> String {
        rows.map { row in
            row.map { field in
                // A leading =, +, -, @, tab or carriage return would run as a formula in a
                // spreadsheet: prefixed with '. (Scalars, not characters: "\r\n" is one character.)
                let safe =
                    field.unicodeScalars.first.map { "=+-@\t\r".unicodeScalars.contains($0) } == true
                    ? "'" + field : field
                return safe.unicodeScalars.contains(where: { ",\"\n\r".unicodeScalars.contains($0) })
                    ? "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : safe
            }.joined(separator: ",")
        }.joined(separator: "\r\n") + "\r\n"
    }
}

/// A CSV response written as it is read: the header, then a page of rows at a time, pulled by the
/// response writer, so an export holds one page in memory however long it is, and stops reading
/// when its client goes. It keeps its place among the exports running at once until then.
struct CSVBody<Item: Sendable, Cursor: Sendable>: AsyncSequence, Sendable {
    typealias Element = ArraySlice<UInt8>
    let header: [String]
    let pages: Paged<Item, Cursor>
    let place: ExportGate.Place
    let row: @Sendable (Item) -> [String]

    func makeAsyncIterator() -> Iterator {
        Iterator(header: header, pages: pages.makeAsyncIterator(), place: place, row: row)
    }

    struct Iterator: AsyncIteratorProtocol {
        var header: [String]?
        var pages: Paged<Item, Cursor>.Iterator
        var place: ExportGate.Place?
        let row: @Sendable (Item) -> [String]

        mutating func next() async throws -> ArraySlice<UInt8>? {
            if let header {
                self.header = nil
                return ArraySlice(CSV.render([header]).utf8)
            }
            guard let items = try await pages.next() else {
                place = nil
                return nil
            }
            return ArraySlice(CSV.render(items.map(row)).utf8)
        }
    }
}

/// The CSV exports running at once on this instance, at most `limit`: each holds a place until
/// its response is done (or abandoned), so exports cannot pile up in memory or on the database.
final class ExportGate: Sendable {
    let limit: Int
    private let running = Mutex(0)

    init(limit: Int) { self.limit = max(1, limit) }

    /// Held while an export runs; given back when the last reference to it goes.
    final class Place: Sendable {
        let gate: ExportGate
        init(_ gate: ExportGate) { self.gate = gate }
        deinit { gate.running.withLock { $0 -= 1 } }
    }

    /// A place, or nil when `limit` exports are running.
    func enter() -> Place? {
        let entered = running.withLock { running in
            guard running < limit else { return false }
            running += 1
            return true
        }
        return entered ? Place(self) : nil
    }

    var count: Int { running.withLock { $0 } }
}
