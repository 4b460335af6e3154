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
}
