/// The few non-ASCII glyphs the dashboard uses, with ASCII stand-ins for
/// terminals without UTF-8.
public struct Glyphs: Sendable {
    public var sparkLevels: [Character]
    public var ellipsis: Character
    public var bar: Character
    public var barEmpty: Character
    public var arrowUp: Character
    public var arrowDown: Character
    public var separator: Character
    public var times: Character

    public static let unicode = Glyphs(sparkLevels: Array("▁▂▃▄▅▆▇█"), ellipsis: "…", bar: "█", barEmpty: "░",
                                       arrowUp: "▲", arrowDown: "▼", separator: "│", times: "×")
    public static let ascii = Glyphs(sparkLevels: Array("_.-:=+*#"), ellipsis: "~", bar: "#", barEmpty: ".",
                                     arrowUp: "^", arrowDown: "v", separator: "|", times: "x")

    /// The last `width` values as a sparkline scaled to their own maximum; a
    /// flat zero series is the lowest level throughout.
    public func sparkline(_ values: [Double], width: Int) -> String {
        guard width > 0 else { return "" }
        let shown = values.suffix(width)
        let peak = shown.max() ?? 0
        var text = String(repeating: " ", count: width - shown.count)
        for value in shown {
            let level = peak > 0 ? Int((value / peak * Double(sparkLevels.count - 1)).rounded()) : 0
            text.append(sparkLevels[max(0, min(sparkLevels.count - 1, level))])
        }
        return text
    }

    /// A bar `width` columns wide, filled to `fraction`.
    public func meter(_ fraction: Double, width: Int) -> String {
        let filled = max(0, min(width, Int((fraction * Double(width)).rounded())))
        return String(repeating: bar, count: filled) + String(repeating: barEmpty, count: width - filled)
    }

    /// `text` cut to `width` columns, with an ellipsis when cut.
    public func fit(_ text: String, _ width: Int) -> String {
        guard width > 0 else { return "" }
        guard text.count > width else { return text }
        return String(text.prefix(width - 1)) + String(ellipsis)
    }
}
