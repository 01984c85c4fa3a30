/// What is wrong with a smoke script, at `file:line:col`.
public enum SmokeError: Error, Equatable, CustomStringConvertible {
    case condition(String)
    case invalid([SmokeDiagnostic])

    public var description: String {
        switch self {
        case .condition(let message): return message
        case .invalid(let diagnostics): return diagnostics.map(\.description).joined(separator: "\n")
        }
    }
}

public struct SmokeDiagnostic: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    public var description: String { "\(file):\(line):\(column): error: \(message)" }
}
