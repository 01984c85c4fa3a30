import SkerryKit

/// What a cell means, not how it looks: the terminal backend maps roles to
/// colours (256, 16) or, without colour, to attributes.
public enum ColorRole: UInt8, CaseIterable, Sendable {
    case normal, title, header, selected, tab, activeTab, up, down, draining, disabled, accept, drop, reject
    case warning, stale, dim, spark, key, input
}

public struct Style: Equatable, Hashable, Sendable {
    public var role: ColorRole
    public var bold: Bool

    public init(_ role: ColorRole = .normal, bold: Bool = false) {
        self.role = role
        self.bold = bold
    }

    public static let normal = Style()
}

public struct Cell: Equatable, Sendable {
    public var scalar: Unicode.Scalar
    public var style: Style

    public static let blank = Cell(scalar: " ", style: .normal)
}

/// A terminal-sized grid the views draw into. It knows nothing of ncurses:
/// tests read it back as text; the terminal backend copies it to the screen.
/// Every glyph the views use is one column wide.
public struct Screen: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Writes `text` from column `x` of row `y`, clipped to `limit`
    /// columns (and the screen); returns the columns written.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style = .normal, limit: Int = Int.max) -> Int {
        guard y >= 0, y < height, x < width else { return 0 }
        var column = max(0, x)
        let end = limit >= width ? width : min(width, x + max(0, limit))
        for scalar in text.unicodeScalars {
            guard column < end else { break }
            // A terminal acts on controls (and bidi overrides reorder what follows): they take no cell.
            if scalar == "\t" || TerminalText.escape(scalar) != nil { continue }
            cells[y * width + column] = Cell(scalar: scalar, style: style)
            column += 1
        }
        return column - max(0, x)
    }

    /// Paints columns `x..<x+count` of row `y` with `style`, keeping the text.
    public mutating func paint(x: Int = 0, y: Int, count: Int? = nil, style: Style) {
        guard y >= 0, y < height else { return }
        let end = min(width, x + (count ?? width))
        for column in max(0, x)..<max(max(0, x), end) { cells[y * width + column].style = style }
    }

    /// Blanks row `y` in `style`.
    public mutating func clear(row y: Int, style: Style = .normal) {
        guard y >= 0, y < height else { return }
        for column in 0..<width { cells[y * width + column] = Cell(scalar: " ", style: style) }
    }

    /// The rows as text, trailing spaces removed: what a snapshot test compares.
    public var lines: [String] {
        (0..<height).map { row in
            var line = String(String.UnicodeScalarView(cells[(row * width)..<((row + 1) * width)].map(\.scalar)))
            while line.last == " " { line.removeLast() }
            return line
        }
    }

    /// The text with each row's roles, for snapshot tests that also check colour meaning.
    public var annotatedLines: [String] {
        (0..<height).map { row in
            var runs: [String] = []
            var current: Style?
            var start = 0
            for column in 0...width {
                let style = column < width ? self[column, row].style : nil
                if style != current {
                    if let current, current != .normal, column > start {
                        runs.append("\(start)-\(column - 1):\(current.role)\(current.bold ? "+bold" : "")")
                    }
                    current = style
                    start = column
                }
            }
            return runs.joined(separator: " ")
        }
    }
}
