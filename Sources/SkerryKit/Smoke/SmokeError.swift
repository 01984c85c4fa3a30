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

public struct SmokeDiagnostic: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    /// Words of the script quoted in the message have their control characters escaped.
    public var description: String { TerminalText.escaped("\(file):\(line):\(column): error: \(message)") }
}
