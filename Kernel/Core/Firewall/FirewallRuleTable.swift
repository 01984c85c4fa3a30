/// The rules a generated classifier returns indices into, shipped as text:
/// one line per rule, `ACTION LOG LIMIT NAME`, where LOG is `log` or `-`
/// and LIMIT is `-` or `PACKETS/NANOSECONDS/BURST`.
///
/// Text rather than an array literal because the compiler handles a string
/// of any length cheaply, while an array literal of thousands of structures
/// exhausts its memory. It is read once, when the firewall is made; the
/// names stay in the literal and are handed out as byte views.
public struct FirewallRuleTable {
    public private(set) var descriptors: [FirewallRuleDescriptor] = []
    private let text: StaticString
    private var names: [Range<Int>] = []

    /// Reads `text`; a malformed line is a build bug and traps.
    public init(_ text: StaticString) {
        self.text = text
        let bytes = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
            if lineEnd > lineStart { readLine(bytes, lineStart..<lineEnd) }
            lineStart = lineEnd + 1
        }
    }

    public var count: Int { descriptors.count }

    /// The name of rule `index`, as UTF-8.
    public func name(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        let range = names[index]
        return UnsafeBufferPointer(start: text.utf8Start + range.lowerBound, count: range.count)
    }

    private mutating func readLine(_ bytes: UnsafeBufferPointer<UInt8>, _ line: Range<Int>) {
        var fields: [Range<Int>] = []
        var start = line.lowerBound
        for index in line where bytes[index] == 0x20 {
            if index > start { fields.append(start..<index) }
            start = index + 1
            if fields.count == 3 { break }
        }
        precondition(fields.count == 3 && start < line.upperBound, "malformed firewall rule table line")
        let action: FirewallAction
        switch bytes[fields[0].lowerBound] {
        case 0x61: action = .accept  // a
        case 0x64: action = .drop  // d
        default: action = .reject
        }
        let log = bytes[fields[1].lowerBound] == 0x6C  // l
        var limit: FirewallRateLimit?
        if bytes[fields[2].lowerBound] != 0x2D {  // -
            var numbers: (UInt64, UInt64, UInt64) = (0, 0, 0)
            var slashes = 0
            for index in fields[2] {
                let byte = bytes[index]
                if byte == 0x2F {
                    slashes += 1
                } else {
                    let digit = UInt64(byte &- 0x30)
                    switch slashes {
                    case 0: numbers.0 = numbers.0 &* 10 &+ digit
                    case 1: numbers.1 = numbers.1 &* 10 &+ digit
                    default: numbers.2 = numbers.2 &* 10 &+ digit
                    }
                }
            }
            precondition(slashes == 2, "malformed firewall rate limit")
            limit = FirewallRateLimit(packets: UInt32(truncatingIfNeeded: numbers.0), per: Interval(nanoseconds: numbers.1),
                                      burst: UInt32(truncatingIfNeeded: numbers.2))
        }
        descriptors.append(FirewallRuleDescriptor(action: action, log: log, limit: limit))
        names.append(start..<line.upperBound)
    }
}
