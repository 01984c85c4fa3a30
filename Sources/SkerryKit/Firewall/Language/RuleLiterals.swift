/// Why a word is not the value it should be; `message` is the diagnostic.
struct LiteralError: Error {
    var message: String
}

/// Reading single words of the firewall language as values: addresses,
/// CIDR blocks and ranges, ports and port ranges, and small numbers that
/// may also be written as names (protocols, ICMP types).
enum RuleLiteral {
    static let protocolNames: [(String, UInt32)] = [("tcp", 6), ("udp", 17), ("icmp", 1)]

    static let icmpTypeNames: [(String, UInt32)] = [
        ("echo-reply", 0), ("destination-unreachable", 3), ("source-quench", 4), ("redirect", 5),
        ("echo-request", 8), ("router-advertisement", 9), ("router-solicitation", 10), ("time-exceeded", 11),
        ("parameter-problem", 12), ("timestamp-request", 13), ("timestamp-reply", 14),
    ]

    /// A decimal number of at most ten digits.
    static func number<Text: StringProtocol>(_ text: Text) -> UInt64? {
        guard !text.isEmpty, text.count <= 10, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(text)
    }

    /// `a.b.c.d`, `a.b.c.d/prefix` (with no host bits set) or `a.b.c.d-e.f.g.h`.
    static func addresses(_ text: String) throws(LiteralError) -> ValueRange {
        if let slash = text.firstIndex(of: "/") {
            let base = try address(text[..<slash])
            let prefixText = text[text.index(after: slash)...]
            guard let prefix = number(prefixText) else {
                throw LiteralError(message: "'\(text)' has no prefix length after '/' (like 10.0.0.0/8)")
            }
            guard prefix <= 32 else { throw LiteralError(message: "prefix /\(prefixText) is more than 32") }
            let mask: UInt32 = prefix == 0 ? 0 : .max << (32 - UInt32(prefix))
            guard base & ~mask == 0 else {
                let network = "\(dotted(base & mask))/\(prefix)"
                throw LiteralError(message: "\(text) has host bits set; the network is \(network)")
            }
            return ValueRange(base, base | ~mask)
        }
        if let dash = text.firstIndex(of: "-") {
            let lower = try address(text[..<dash])
            let upper = try address(text[text.index(after: dash)...])
            guard lower <= upper else {
                throw LiteralError(message: "range \(text) is empty: \(dotted(lower)) is greater than \(dotted(upper))")
            }
            return ValueRange(lower, upper)
        }
        return ValueRange(try address(text[...]))
    }

    /// `22` or `1000-2000`.
    static func ports(_ text: String) throws(LiteralError) -> ValueRange {
        guard let dash = text.firstIndex(of: "-") else { return ValueRange(try port(text[...])) }
        let lower = try port(text[..<dash])
        let upper = try port(text[text.index(after: dash)...])
        guard lower <= upper else { throw LiteralError(message: "range \(text) is empty: \(lower) is greater than \(upper)") }
        return ValueRange(lower, upper)
    }

    /// A name from `names`, or a number up to 255; `what` names the field in messages.
    static func byte(_ text: String, what: String, names: [(String, UInt32)]) throws(LiteralError) -> UInt32 {
        if let value = names.first(where: { $0.0 == text })?.1 { return value }
        if let value = number(text) {
            guard value <= 255 else { throw LiteralError(message: "\(what) \(text) is more than 255") }
            return UInt32(value)
        }
        let words = names.map(\.0)
        if let near = Vocabulary.closest(to: text, in: words) {
            throw LiteralError(message: "unknown \(what) '\(text)'; did you mean '\(near)'? (or a number 0-255)")
        }
        throw LiteralError(message: "unknown \(what) '\(text)' (expected \(words.joined(separator: ", ")) or a number 0-255)")
    }

    /// Exactly four decimal octets.
    private static func address(_ text: Substring) throws(LiteralError) -> UInt32 {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { throw LiteralError(message: "'\(text)' is not an IPv4 address (like 10.0.1.2)") }
        var value: UInt32 = 0
        for octet in octets {
            guard let number = number(octet) else {
                throw LiteralError(message: "'\(text)' is not an IPv4 address (like 10.0.1.2)")
            }
            guard number <= 255 else { throw LiteralError(message: "'\(text)' is not an IPv4 address: \(octet) is more than 255") }
            value = value << 8 | UInt32(number)
        }
        return value
    }

    /// Dotted-quad text of a host-order address.
    static func dotted(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)"
    }

    private static func port(_ text: Substring) throws(LiteralError) -> UInt32 {
        guard let number = number(text) else { throw LiteralError(message: "'\(text)' is not a port (a number 0-65535)") }
        guard number <= 65535 else { throw LiteralError(message: "port \(text) is more than 65535") }
        return UInt32(number)
    }
}
