import KernelCore
@testable import SkerryKit
import Testing

/// A schema that lists more counter names than any appliance could have is
/// refused at once, instead of costing the client a lookup per name.
@Suite struct TelemetrySchemaLimitTests {
    static func schema(stackCounterNames count: Int) -> [UInt8] {
        var payload: [UInt8] = [0, 0]  // flags, no NICs
        var value = count
        repeat {
            payload.append(UInt8(value & 0x7F) | (value >= 0x80 ? 0x80 : 0))
            value >>= 7
        } while value > 0
        for _ in 0..<count { payload += [1, UInt8(ascii: "x")] }
        return payload
    }

    @Test func tooManyCounterNamesAreMalformed() {
        for count in [TelemetryDecoder.maximumCounterNames + 1, 1_000_000] {
            do {
                _ = try TelemetryDecoder.decodeSchema(Self.schema(stackCounterNames: count))
                Issue.record("\(count) stack counter names are refused")
            } catch {
                #expect("\(error)".contains("stack counter count"), "refused at the count, before any name is read: \(error)")
            }
        }
    }

    @Test func unknownNamesUpToTheLimitAreRead() throws {
        // The rest of this schema is missing, so decoding stops after the stack counters: at the TCP counters, not before.
        do {
            _ = try TelemetryDecoder.decodeSchema(Self.schema(stackCounterNames: TelemetryDecoder.maximumCounterNames))
            Issue.record("a schema cut short after its stack counters is refused")
        } catch {
            #expect("\(error)".contains("TCP counter"), "\(error)")
        }
    }
}
