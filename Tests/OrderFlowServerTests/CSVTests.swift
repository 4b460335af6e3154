import OrderFlowDomain
import Synchronization
import Testing

@testable import OrderFlowServer

@Suite("CSV exports")
struct CSVTests {
    /// Whatever a spreadsheet would read as the start of a formula is defused with a quote mark, and
    /// fields with separators, quotes or line breaks are quoted (RFC 4180).
    @Test func formulasAreDefusedAndSeparatorsQuoted() {
        let rows = [["=1+1", "+1", "-1", "@SUM(A1)", "\tcmd", "\r=2", "\r\nx", "plain", "a,b", "say \"hi\""]]
        #expect(
            CSV.render(rows)
                == "'=1+1,'+1,'-1,'@SUM(A1),'\tcmd,\"'\r=2\",\"'\r\nx\",plain,\"a,b\",\"say \"\"hi\"\"\"\r\n")
    }

    /// An export is read a page at a time as its response is written, and holds its place among
    /// the exports running at once until it is done with.
    @Test func anExportIsReadAsItIsWrittenAndHoldsItsPlaceUntilDone() async throws {
        let gate = ExportGate(limit: 1)
        let pagesRead = Mutex(0)
        let pages = Paged<Int, Int>(start: 0) { page in
            pagesRead.withLock { $0 += 1 }
            return (Array(page * 2..<page * 2 + 2), page < 2 ? page + 1 : nil)
        }
        var body: CSVBody<Int, Int>? = CSVBody(
            header: ["n", "square"], pages: pages, place: try #require(gate.enter())
        ) { [String($0), String($0 * $0)] }
        #expect(gate.enter() == nil, "one export at a time")
        var iterator = body?.makeAsyncIterator()
        #expect(try await iterator?.next().map { String(decoding: $0, as: UTF8.self) } == "n,square\r\n")
        #expect(pagesRead.withLock { $0 } == 0, "nothing read before it is written")
        #expect(try await iterator?.next().map { String(decoding: $0, as: UTF8.self) } == "0,0\r\n1,1\r\n")
        #expect(pagesRead.withLock { $0 } == 1)
        var rest = ""
        while let chunk = try await iterator?.next() { rest += String(decoding: chunk, as: UTF8.self) }
        #expect(rest == "2,4\r\n3,9\r\n4,16\r\n5,25\r\n")
        #expect(gate.enter() == nil, "the response still holds it")
        iterator = nil
        body = nil
        #expect(gate.count == 0)
        #expect(gate.enter() != nil)
    }
}
