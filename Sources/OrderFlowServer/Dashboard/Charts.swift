import Foundation

/// Charts drawn as inline SVG by the server: nothing to load in the browser, readable without
/// script, printable, and styled by the page's stylesheet (colours come from classes).
enum Charts {
    /// One stacked bar per bucket (e.g. a minute), parts in the order of `classes`.
    /// `labels` names the first and last bucket under the axis.
    ///
    /// Time series stretch to the card's width at a fixed height; their words are HTML around the
    /// plot, so they stay the page's size on a tablet and on a wide screen alike.
    static func stackedBars(
        _ buckets: [[Int]], classes: [String], legend: [String] = [], labels: (String, String)?, title: String
    ) -> HTML {
        let width = 600
        let height = 100
        let top = max(1, buckets.map { $0.reduce(0, +) }.max() ?? 1)
        let step = Double(width) / Double(max(1, buckets.count))
        var bars: [HTML] = []
        for (index, parts) in buckets.enumerated() {
            var y = Double(height)
            let x = Double(index) * step
            for (part, value) in parts.enumerated() where value > 0 {
                let h = Double(value) / Double(top) * Double(height - 2)
                y -= h
                bars.append(
                    HTML(
                        unsafe: String(
                            format: "<rect class=\"%@\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"></rect>",
                            classes[part % classes.count], x + 0.5, y, max(1, step - 1), h)))
            }
        }
        let key = zip(classes, legend).map { style, name -> HTML in
            "<span><svg class=\"swatch\" viewBox=\"0 0 10 10\" aria-hidden=\"true\"><rect class=\"\(style)\" width=\"10\" height=\"10\"></rect></svg>\(name)</span>"
        }
        return series(
            title: title, top: "max \(top) per bar", labels: labels,
            plot: """
                <svg class="plot" viewBox="0 0 \(width) \(height)" preserveAspectRatio="none" \
                aria-hidden="true">\(bars)</svg>\
                \(key.isEmpty ? HTML.empty : "<div class=\"legend\">\(key)</div>")
                """)
    }

    /// A line through values (latency over time), with its maximum marked.
    static func line(_ values: [Double?], title: String, unit: String, labels: (String, String)? = nil) -> HTML {
        let width = 600
        let height = 100
        let known = values.compactMap { $0 }
        guard let top = known.max(), top > 0 else { return "<p class=\"muted\">No values in this window.</p>" }
        let step = Double(width) / Double(max(1, values.count - 1))
        var path = ""
        var dots = ""
        for (index, value) in values.enumerated() {
            guard let value else { continue }
            let x = Double(index) * step
            let y = Double(height - 3) - value / top * Double(height - 8)
            path += String(format: path.isEmpty ? "M%.1f %.1f" : " L%.1f %.1f", x, y)
            // A zero-length stroke with round caps: a dot that stays round when the plot stretches.
            dots += String(format: "M%.1f %.1f h0.01 ", x, y)
        }
        return series(
            title: title, top: "max \(String(format: "%.0f", top)) \(unit)", labels: labels,
            plot: """
                <svg class="plot" viewBox="0 0 \(width) \(height)" preserveAspectRatio="none" aria-hidden="true">\
                <path class="line" d="\(path)"></path><path class="dots" d="\(dots)"></path></svg>
                """)
    }

    private static func series(title: String, top: String, labels: (String, String)?, plot: HTML) -> HTML {
        let axis: HTML =
            labels.map { first, last in "<div class=\"axis\"><span>\(first)</span><span>\(last)</span></div>" }
            ?? .empty
        return """
            <figure class="chart" role="img" \
            aria-label="\(title)"><div class="axis"><span>\(top)</span></div>\(plot)\(axis)</figure>
            """
    }

    /// Horizontal bars with their labels and values, for rankings (top items, failures by class):
    /// a list whose words are text of the page, each bar a stretched SVG of its own.
    static func ranking(_ rows: [(label: String, value: Int)], barClass: String = "bar-info", title: String) -> HTML {
        guard !rows.isEmpty else { return "<p class=\"muted\">Nothing in this window.</p>" }
        let top = max(1, rows.map(\.value).max() ?? 1)
        let items = rows.map { row -> HTML in
            let share = max(0.5, Double(row.value) / Double(top) * 100)
            return """
                <li><span class="label">\(row.label)</span><svg class="bar" viewBox="0 0 100 10" \
                preserveAspectRatio="none" aria-hidden="true">\
                <rect class="\(barClass)" width="\(String(format: "%.1f", share))" \
                height="10"></rect></svg><span class="value">\(row.value)</span></li>
                """
        }
        return "<ol class=\"ranking\" aria-label=\"\(title)\">\(items)</ol>"
    }
}
