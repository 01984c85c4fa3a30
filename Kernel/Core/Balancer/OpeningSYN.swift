/// What the balancer lets through of a client's SYN. A backend that
/// silently drops a SYN is charged a connect timeout, and passive health
/// marks it DOWN after a few, so nothing in a SYN may be chosen by the
/// client to make a healthy backend stay silent: a bad checksum, data on
/// the SYN (which the tracker's handshake would not match), or an option
/// the backend drops SYNs for (TCP-MD5 without a key, TCP-AO).
enum OpeningSYN {
    /// Options a backend's stack handles for any client; every other
    /// option in a SYN is overwritten with NOPs.
    static func isUniversal(_ kind: UInt8) -> Bool {
        kind == 2 || kind == 3 || kind == 4 || kind == 8  // MSS, window scale, SACK permitted, timestamps
    }

    enum Refusal {
        case badChecksum
        /// Data on the SYN (TCP Fast Open): a TFO client sends a plain SYN next.
        case carriesData
    }

    /// Checks a client's SYN (`segment`, from `source` to `destination`)
    /// and neutralises its options in place, refilling the checksum when
    /// it changed any. Nil when it may be forwarded.
    static func admit(_ segment: TCPSegment, source: IPv4Address, destination: IPv4Address) -> Refusal? {
        guard segment.checksumValid(source: source, destination: destination) else { return .badChecksum }
        guard segment.payload.isEmpty else { return .carriesData }
        let options = segment.options
        var changed = false
        var index = 0
        while index < options.count {
            let kind = options[index]
            if kind == 0 { break }
            if kind == 1 {
                index += 1
                continue
            }
            let length = index + 1 < options.count ? Int(options[index + 1]) : 0
            let end = length >= 2 && index + length <= options.count ? index + length : options.count
            if length < 2 || index + length > options.count || !isUniversal(kind) {
                for position in index..<end { options[position] = 1 }
                changed = true
            }
            index = end
        }
        if changed { segment.fillChecksum(source: source, destination: destination) }
        return nil
    }
}
