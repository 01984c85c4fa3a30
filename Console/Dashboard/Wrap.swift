extension Glyphs {
    /// `items` on lines of at most `width` columns, two spaces apart, never split (an item wider than a line
    /// is cut with an ellipsis). Past `maximumLines` lines the last line ends in "… N more" for the items
    /// left out, so a cut never goes unmarked.
    public func wrap(_ items: [String], width: Int, maximumLines: Int = .max) -> [String] {
        guard width > 0, maximumLines > 0 else { return [] }
        var lines: [[String]] = []
        for item in items.map({ fit($0, width) }) {
            if let last = lines.last, Self.joined(last + [item]).count <= width {
                lines[lines.count - 1].append(item)
            } else {
                lines.append([item])
            }
        }
        guard lines.count > maximumLines else { return lines.map(Self.joined) }
        var last = lines[maximumLines - 1]
        var shown = lines.prefix(maximumLines).reduce(0) { $0 + $1.count }
        func marker() -> String { "\(ellipsis) \(items.count - shown) more" }
        while !last.isEmpty, Self.joined(last + [marker()]).count > width {
            last.removeLast()
            shown -= 1
        }
        return lines.prefix(maximumLines - 1).map(Self.joined) + [fit(Self.joined(last + [marker()]), width)]
    }

    private static func joined(_ items: [String]) -> String { items.joined(separator: "  ") }
}
