/// The telnet protocol (RFC 854) as a serial-console client or server
/// needs it: option negotiation, and the data stream with the protocol's
/// bytes taken out.
///
/// `decode` takes bytes as they arrive, in pieces of any size (a command
/// split across two reads is joined), and returns the data and the replies
/// to send. Options: the peer may WILL `acceptedRemote` (a server's ECHO and
/// SUPPRESS-GO-AHEAD) and we WILL `acceptedLocal` (SUPPRESS-GO-AHEAD);
/// every other request is refused with DONT or WONT. As RFC 1143 asks, a
/// reply is sent only when an option's state changes, and a refusal once
/// per option, so two peers never answer each other forever. A
/// subnegotiation (`IAC SB … IAC SE`) is skipped whatever its length, with
/// nothing kept, so the codec's memory is a few bytes whatever arrives.
/// In the data, `CR NUL` is a CR (RFC 854's bare carriage return).
public struct TelnetCodec: Sendable {
    public static let iac: UInt8 = 255
    public static let dont: UInt8 = 254
    public static let `do`: UInt8 = 253
    public static let wont: UInt8 = 252
    public static let will: UInt8 = 251
    public static let sb: UInt8 = 250
    public static let se: UInt8 = 240

    /// Options by their RFC numbers.
    public enum Option {
        public static let echo: UInt8 = 1
        public static let suppressGoAhead: UInt8 = 3
    }

    /// Options the peer may enable on its side (it sends WILL).
    public var acceptedRemote: Set<UInt8>
    /// Options this side enables when asked (the peer sends DO).
    public var acceptedLocal: Set<UInt8>

    private enum State: Sendable {
        case data
        case carriageReturn
        case command
        case option(verb: UInt8)
        case subnegotiation
        case subnegotiationIAC
    }

    private var state = State.data
    /// Options enabled on the peer's side and on ours (bit per option).
    private var remote = OptionSet256()
    private var local = OptionSet256()
    /// Options already refused once: a repeated request is ignored.
    private var refusedRemote = OptionSet256()
    private var refusedLocal = OptionSet256()

    /// A client's codec: the server may echo and suppress go-ahead.
    public init(acceptedRemote: Set<UInt8> = [Option.echo, Option.suppressGoAhead],
                acceptedLocal: Set<UInt8> = [Option.suppressGoAhead]) {
        self.acceptedRemote = acceptedRemote
        self.acceptedLocal = acceptedLocal
    }

    /// Whether the peer has enabled `option` on its side.
    public func peerEnabled(_ option: UInt8) -> Bool { remote.contains(option) }

    /// Whether this side has enabled `option`.
    public func enabled(_ option: UInt8) -> Bool { local.contains(option) }

    /// Takes bytes from the peer; appends the data in them to `data` and
    /// the negotiation replies to `replies`.
    public mutating func decode(_ bytes: some Sequence<UInt8>, data: inout [UInt8], replies: inout [UInt8]) {
        for byte in bytes {
            switch state {
            case .data, .carriageReturn:
                let afterCR = { if case .carriageReturn = state { return true } else { return false } }()
                state = .data
                if byte == TelnetCodec.iac {
                    state = .command
                } else if afterCR && byte == 0 {
                    continue
                } else {
                    data.append(byte)
                    if byte == 0x0D { state = .carriageReturn }
                }
            case .command:
                switch byte {
                case TelnetCodec.iac:
                    data.append(byte)
                    state = .data
                case TelnetCodec.will, TelnetCodec.wont, TelnetCodec.do, TelnetCodec.dont:
                    state = .option(verb: byte)
                case TelnetCodec.sb:
                    state = .subnegotiation
                default:
                    // NOP, GA, AYT and the other two-byte commands carry no data.
                    state = .data
                }
            case .option(let verb):
                negotiate(verb: verb, option: byte, replies: &replies)
                state = .data
            case .subnegotiation:
                if byte == TelnetCodec.iac { state = .subnegotiationIAC }
            case .subnegotiationIAC:
                // IAC SE ends it; IAC IAC is a data byte inside it; anything
                // else is a peer's error, and the subnegotiation goes on.
                state = byte == TelnetCodec.se ? .data : .subnegotiation
            }
        }
    }

    private mutating func negotiate(verb: UInt8, option: UInt8, replies: inout [UInt8]) {
        switch verb {
        case TelnetCodec.will:
            if acceptedRemote.contains(option) {
                if !remote.contains(option) {
                    remote.insert(option)
                    replies += [TelnetCodec.iac, TelnetCodec.do, option]
                }
            } else if !refusedRemote.contains(option) {
                refusedRemote.insert(option)
                replies += [TelnetCodec.iac, TelnetCodec.dont, option]
            }
        case TelnetCodec.wont:
            if remote.contains(option) {
                remote.remove(option)
                replies += [TelnetCodec.iac, TelnetCodec.dont, option]
            }
        case TelnetCodec.do:
            if acceptedLocal.contains(option) {
                if !local.contains(option) {
                    local.insert(option)
                    replies += [TelnetCodec.iac, TelnetCodec.will, option]
                }
            } else if !refusedLocal.contains(option) {
                refusedLocal.insert(option)
                replies += [TelnetCodec.iac, TelnetCodec.wont, option]
            }
        default:  // DONT
            if local.contains(option) {
                local.remove(option)
                replies += [TelnetCodec.iac, TelnetCodec.wont, option]
            }
        }
    }

    /// Asks the peer to enable `option` on its side (IAC DO), once.
    public mutating func request(peerOption option: UInt8) -> [UInt8] {
        guard !remote.contains(option) else { return [] }
        remote.insert(option)
        return [TelnetCodec.iac, TelnetCodec.do, option]
    }

    /// Offers `option` on this side (IAC WILL), once.
    public mutating func offer(_ option: UInt8) -> [UInt8] {
        guard !local.contains(option) else { return [] }
        local.insert(option)
        return [TelnetCodec.iac, TelnetCodec.will, option]
    }

    /// Data as the telnet stream carries it: every 0xFF doubled.
    public static func encode(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount)
        for byte in bytes {
            out.append(byte)
            if byte == iac { out.append(iac) }
        }
        return out
    }
}

/// 256 flags, one per telnet option, without allocating.
struct OptionSet256: Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    func contains(_ option: UInt8) -> Bool { word(option) & bit(option) != 0 }

    mutating func insert(_ option: UInt8) { setWord(option, word(option) | bit(option)) }

    mutating func remove(_ option: UInt8) { setWord(option, word(option) & ~bit(option)) }

    private func bit(_ option: UInt8) -> UInt64 { 1 << UInt64(option & 63) }

    private func word(_ option: UInt8) -> UInt64 {
        switch option >> 6 {
        case 0: return words.0
        case 1: return words.1
        case 2: return words.2
        default: return words.3
        }
    }

    private mutating func setWord(_ option: UInt8, _ value: UInt64) {
        switch option >> 6 {
        case 0: words.0 = value
        case 1: words.1 = value
        case 2: words.2 = value
        default: words.3 = value
        }
    }
}
