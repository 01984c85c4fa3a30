/// What is wrong with a smoke script, at `file:line:col`.
public enum SmokeError: Error, Equatable, CustomStringConvertible {
    case condition(String)
    case invalid([SmokeDiagnostic])

    public var description: String {
        switch self {
        case .condition(let message): return TerminalText.escaped(message)
        case .invalid(let diagnostics): return diagnostics.map(\.description).joined(separator: "\n")
        }
    }
}

/// One problem in a smoke script, rendered like the appliance's and the
/// firewall's: `file:line:col: error: message`, the line, and a caret.
public struct SmokeDiagnostic: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    /// The script's line at `line`; empty for a problem with the file as a whole.
    public var sourceLine = ""

    public init(file: String, line: Int, column: Int, message: String, sourceLine: String = "") {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.sourceLine = sourceLine
    }

    /// Words of the script quoted in the message have their control characters escaped.
    public var description: String {
        ConfigDiagnostic(location: ConfigLocation(file: file, line: line, column: column), message: message, sourceLine: sourceLine)
            .description
    }
}
