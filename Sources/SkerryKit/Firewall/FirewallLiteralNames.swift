/// The rule language's names for protocols and ICMP types, for commands that
/// take a packet's fields on their command line (`skerry rules match`): they
/// accept what a rule file accepts, from the same tables.
public enum FirewallLiteralNames {
    /// `tcp`, `udp`, `icmp` or a number 0-255; otherwise the language's own message.
    public static func protocolNumber(_ text: String) -> Result<UInt8, FirewallLiteralError> {
        byte(text, what: "protocol", names: RuleLiteral.protocolNames)
    }

    /// An ICMP type by name (`echo-request`, …) or a number 0-255.
    public static func icmpType(_ text: String) -> Result<UInt8, FirewallLiteralError> {
        byte(text, what: "ICMP type", names: RuleLiteral.icmpTypeNames)
    }

    public static var protocols: [String] { RuleLiteral.protocolNames.map(\.0) }
    public static var icmpTypes: [String] { RuleLiteral.icmpTypeNames.map(\.0) }

    private static func byte(_ text: String, what: String, names: [(String, UInt32)]) -> Result<UInt8, FirewallLiteralError> {
        do throws(LiteralError) {
            return .success(UInt8(try RuleLiteral.byte(text, what: what, names: names)))
        } catch {
            return .failure(FirewallLiteralError(message: error.message))
        }
    }
}

/// Why a word is not a protocol or an ICMP type, as the rule language says it.
public struct FirewallLiteralError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
