#if canImport(KernelCore)
import KernelCore  // the protocol's numbers; the fuzz build compiles the core into one module
#endif

/// Why a telemetry stream could not be read. Every malformed input ends in
/// one of these, never in a crash.
public enum TelemetryStreamError: Error, Equatable, CustomStringConvertible {
    /// The peer does not speak the telemetry protocol (wrong first bytes).
    case notTelemetry
    /// The appliance speaks a protocol version this client does not.
    case unsupportedVersion(Int)
    /// A frame longer than the client accepts.
    case frameTooLarge(Int)
    /// A frame of a type this client does not know.
    case unknownMessage(UInt8)
    /// A field ran past the end of its frame.
    case truncated(message: String, field: String)
    /// A field's value cannot be right (a varint over 64 bits, bad UTF-8, an index out of range).
    case malformed(message: String, field: String)
    /// A snapshot arrived before any schema.
    case snapshotWithoutSchema
    /// The appliance ended the stream with an error.
    case refused(code: Int, message: String)
    /// The connection failed, closed, or went quiet.
    case connection(String)

    /// False when no telemetry port answered at all: the address, the
    /// forward or the appliance itself is the likely problem.
    public var reachedAppliance: Bool {
        if case .connection = self { return false }
        return true
    }

    /// The error for an operator who asked for `address`: the address
    /// once, and where nothing answered, what to check.
    public func explained(at address: String) -> String {
        let text = description.contains(address) ? description : "\(address): \(description)"
        return reachedAppliance ? text : text + "; is the appliance running, and its telemetry port forwarded?"
    }

    public var description: String {
        switch self {
        case .notTelemetry: return "the peer is not a Skerry telemetry port (it did not answer the SKTP hello)"
        case .unsupportedVersion(let version): return "the appliance speaks telemetry protocol version \(version); this skerry speaks \(TelemetryProtocol.version)"
        case .frameTooLarge(let length): return "a frame of \(length) bytes is over the client's limit"
        case .unknownMessage(let type): return "unknown message type 0x\(String(type, radix: 16))"
        case .truncated(let message, let field): return "\(message) frame ends before its \(field)"
        case .malformed(let message, let field): return "\(message) frame has a malformed \(field)"
        case .snapshotWithoutSchema: return "a snapshot arrived before the schema"
        case .refused(let code, _) where code == Int(TelemetryProtocol.ErrorCode.busy.rawValue):
            return "all telemetry slots are taken: the appliance refused the connection; try again later"
        case .refused(let code, let message): return "the appliance closed the stream (error \(code)): \(message)"
        case .connection(let reason): return reason
        }
    }
}
