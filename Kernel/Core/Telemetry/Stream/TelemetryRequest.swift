/// What a stream client asks of the appliance, decoded from its frames.
public enum TelemetryRequest {
    /// The client's hello: the version both sides speak.
    case hello(version: UInt8)
    /// Snapshots every `interval`, and events as they happen if `events`.
    case subscribe(interval: Interval, events: Bool)
    case admin(id: UInt64, token: [UInt8], action: TelemetryProtocol.AdminAction, service: [UInt8], backend: [UInt8],
               weight: UInt64)

    /// Why a client's bytes are not a request; the stream ends with this error.
    public struct Failure: Sendable, Equatable {
        public var code: TelemetryProtocol.ErrorCode
        public var message: StaticString

        public static func == (a: Failure, b: Failure) -> Bool { a.code == b.code }
    }

    public enum Parse {
        case incomplete
        /// A request and the bytes it took, header included.
        case request(TelemetryRequest, length: Int)
        case failure(Failure)
    }

    /// Checks the client's hello (`SKTP`, lowest and highest version).
    public static func parseHello(_ bytes: [UInt8]) -> Parse {
        guard bytes.count >= TelemetryProtocol.helloLength else { return .incomplete }
        let magic = TelemetryProtocol.magic
        guard bytes[0] == magic.0, bytes[1] == magic.1, bytes[2] == magic.2, bytes[3] == magic.3 else {
            return .failure(Failure(code: .malformed, message: "not a telemetry stream hello"))
        }
        let chosen = min(bytes[5], TelemetryProtocol.version)
        guard bytes[4] <= chosen, chosen >= TelemetryProtocol.oldestVersion else {
            return .failure(Failure(code: .unsupportedVersion, message: "this appliance speaks telemetry protocol versions 2 to 3"))
        }
        return .request(.hello(version: chosen), length: TelemetryProtocol.helloLength)
    }

    /// Decodes the first frame of `bytes`, if it is all there.
    public static func parse(_ bytes: [UInt8]) -> Parse {
        let header = TelemetryProtocol.frameHeaderLength
        guard bytes.count >= header else { return .incomplete }
        let length = Int(bytes[1]) << 24 | Int(bytes[2]) << 16 | Int(bytes[3]) << 8 | Int(bytes[4])
        guard length <= TelemetryProtocol.maximumRequestLength else {
            return .failure(Failure(code: .tooLarge, message: "a request frame holds at most 1024 bytes"))
        }
        guard bytes.count >= header + length else { return .incomplete }
        var reader = Reader(bytes: bytes, position: header, end: header + length)
        let malformed = Failure(code: .malformed, message: "a request frame's fields do not decode")
        switch bytes[0] {
        case TelemetryProtocol.MessageType.subscribe.rawValue:
            guard let milliseconds = reader.varint(), let flags = reader.varint() else { return .failure(malformed) }
            let clamped = min(max(milliseconds, TelemetryProtocol.intervals.lowerBound), TelemetryProtocol.intervals.upperBound)
            return .request(.subscribe(interval: .milliseconds(clamped), events: flags & 1 != 0), length: header + length)
        case TelemetryProtocol.MessageType.admin.rawValue:
            guard let id = reader.varint(), let token = reader.string(), let code = reader.varint(),
                let service = reader.string(), let backend = reader.string(), let weight = reader.varint()
            else { return .failure(malformed) }
            guard code <= 0xFF, let action = TelemetryProtocol.AdminAction(rawValue: UInt8(code)) else {
                return .failure(Failure(code: .malformed, message: "no such admin action"))
            }
            return .request(.admin(id: id, token: token, action: action, service: service, backend: backend, weight: weight),
                            length: header + length)
        default:
            return .failure(Failure(code: .unexpected, message: "a client sends only subscribe and admin frames"))
        }
    }

    /// Reads fields inside one frame; nil when a field runs past its end.
    struct Reader {
        let bytes: [UInt8]
        var position: Int
        let end: Int

        mutating func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while position < end {
                let byte = bytes[position]
                position += 1
                guard shift < 64, shift < 63 || byte <= 1 else { return nil }
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }

        mutating func string() -> [UInt8]? {
            guard let length = varint(), length <= UInt64(end - position) else { return nil }
            let start = position
            position += Int(length)
            return Array(bytes[start..<position])
        }
    }
}
