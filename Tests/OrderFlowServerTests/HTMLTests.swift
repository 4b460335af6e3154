import Testing

@testable import OrderFlowServer

/// What the dashboard's `HTML` type escapes and what it keeps: every page's safety against what
/// callers and downstream systems write rests on it.
@Suite("HTML escaping")
struct HTMLTests {
    static let hostile = #"<script>alert("x")</script>&'"#
    static let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"

    @Test func textInElementContentIsEscaped() {
        let html: HTML = "<td>\(Self.hostile)</td>"
        #expect(html.description == "<td>\(Self.escaped)</td>")
    }

    @Test func textInAQuotedAttributeValueCannotLeaveIt() {
        let double: HTML = "<input value=\"\(#"" autofocus onfocus="alert(1)""#)\">"
        #expect(double.description == "<input value=\"&quot; autofocus onfocus=&quot;alert(1)&quot;\">")
        let single: HTML = "<a title='\("' onclick='alert(1)")'>"
        #expect(single.description == "<a title='&#39; onclick=&#39;alert(1)'>")
    }

    @Test func eachSpecialCharacterBecomesItsEntityAndOtherTextStaysAsItIs() {
        #expect(HTML.escaped("&") == "&amp;")
        #expect(HTML.escaped("<") == "&lt;")
        #expect(HTML.escaped(">") == "&gt;")
        #expect(HTML.escaped("\"") == "&quot;")
        #expect(HTML.escaped("'") == "&#39;")
        let plain = "Somchai ใจดี · 50% off, é 🚚 = ok/\\"
        #expect(HTML.escaped(plain) == plain)
        // An entity in text is text: shown as written, never decoded into markup.
        #expect(HTML.escaped("&lt;b&gt;") == "&amp;lt;b&amp;gt;")
        #expect(HTML.escaped("") == "")
    }

    @Test func optionalStringsAreEscapedAndNilIsNothing() {
        let some: String? = Self.hostile
        let none: String? = nil
        let html: HTML = "[\(some)][\(none)]"
        #expect(html.description == "[\(Self.escaped)][]")
    }

    @Test func substringsAreEscaped() {
        let text = "name: <b>Ann</b>"
        let html: HTML = "<p>\(text.dropFirst(6))</p>"
        #expect(html.description == "<p>&lt;b&gt;Ann&lt;/b&gt;</p>")
    }

    @Test func integersAreWrittenAsNumbers() {
        let small = -42
        let large = Int64.max
        let html: HTML = "<td>\(small)</td><td>\(large)</td>"
        #expect(html.description == "<td>-42</td><td>9223372036854775807</td>")
    }

    @Test func arraysOfHTMLAreKeptAsTheyAreWithNothingBetween() {
        let items: [HTML] = ["<li>\(Self.hostile)</li>", "<li class=\"x\">2</li>"]
        let list: HTML = "<ul>\(items)</ul>"
        #expect(list.description == "<ul><li>\(Self.escaped)</li><li class=\"x\">2</li></ul>")
        let empty: [HTML] = []
        #expect(("<ul>\(empty)</ul>" as HTML).description == "<ul></ul>")
    }

    @Test func htmlInterpolatedIntoHTMLIsNotEscapedTwice() {
        let inner: HTML = "<strong>\(Self.hostile)</strong>"
        let outer: HTML = "<p>\(inner)</p>"
        #expect(outer.description == "<p><strong>\(Self.escaped)</strong></p>")
        let some: HTML? = inner
        let none: HTML? = nil
        let optional: HTML = "<p>\(some)\(none)</p>"
        #expect(optional.description == outer.description)
        let twice: HTML = "<div>\(outer)</div>"
        #expect(twice.description == "<div><p><strong>\(Self.escaped)</strong></p></div>")
    }

    @Test func unsafeTextIsTakenAsMarkup() {
        let trusted = HTML(unsafe: "<br>&nbsp;")
        #expect(trusted.description == "<br>&nbsp;")
        let html: HTML = "<p>\(trusted)</p>"
        #expect(html.description == "<p><br>&nbsp;</p>")
        // The literal parts of an interpolation are markup too: only what is interpolated is text.
        let literal: HTML = "<a href=\"/x?a=1&amp;b=2\">&rarr;</a>"
        #expect(literal.description == "<a href=\"/x?a=1&amp;b=2\">&rarr;</a>")
        #expect(HTML.empty.description == "")
    }

    @Test func joinedPutsTheSeparatorBetweenAndEscapesNothingAgain() {
        let items: [HTML] = ["<b>\("a&b")</b>", "<i>c</i>", "d"]
        #expect(items.joined().description == "<b>a&amp;b</b><i>c</i>d")
        #expect(items.joined("<br>").description == "<b>a&amp;b</b><br><i>c</i><br>d")
        #expect(([] as [HTML]).joined("<br>").description == "")
        #expect((["<hr>"] as [HTML]).joined(", ").description == "<hr>")
    }
}
