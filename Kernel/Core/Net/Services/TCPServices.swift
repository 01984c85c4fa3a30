/// The classic test services over TCP: echo (RFC 862), discard (RFC 863)
/// and chargen (RFC 864). They prove the stack end to end and measure its
/// throughput each way.
///
/// Listen with `TCPTestService.limits`: each service holds at most 16
/// connections, 8 from one address, and resets any idle for 30 s.
public final class TCPTestService {
    /// The admission limits the appliance's services listen with. Half the
    /// service per source: two addresses cannot be locked out by one, and
    /// under user-mode networking (one address for every host client) a new
    /// client replaces the longest-idle connection rather than being refused.
    public static let limits = TCPListenerLimits(maximumConnections: 16, maximumPerSource: 8, idleTimeout: .seconds(30))

    public enum Kind: Sendable {
        /// Sends back what it receives.
        case echo
        /// Reads and drops everything.
        case discard
        /// Sends a character pattern until the peer closes.
        case chargen
    }

    public let kind: Kind
    public let listener: TCPListener
    public private(set) var active: [TCPConnection] = []
    public private(set) var accepted: UInt64 = 0
    private let scratch: UnsafeMutableRawBufferPointer
    private var patternOffset = 0
    static let pattern: [UInt8] = Array(0x20...0x7E) + [0x0D, 0x0A]

    public init(kind: Kind, listener: TCPListener) {
        self.kind = kind
        self.listener = listener
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        listener.onAcceptable = { [self] in acceptAll() }
    }

    deinit { scratch.deallocate() }

    private func acceptAll() {
        while let connection = listener.accept() {
            accepted += 1
            active.append(connection)
            connection.onEvent = { [self] in serve($0) }
            serve(connection)
        }
    }

    private func serve(_ connection: TCPConnection) {
        switch kind {
        case .echo:
            while true {
                let room = Swift.min(connection.readableBytes, connection.writableSpace, scratch.count)
                guard room > 0 else { break }
                let count = connection.read(into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<room]))
                connection.write(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
            }
            if connection.atEndOfStream { connection.close() }
        case .discard:
            while connection.read(into: scratch) > 0 {}
            if connection.atEndOfStream { connection.close() }
        case .chargen:
            while connection.read(into: scratch) > 0 {}
            if connection.finReceived {
                connection.close()
            } else {
                fillPattern(connection)
            }
        }
        if connection.isFinished { active.removeAll { $0 === connection } }
    }

    private func fillPattern(_ connection: TCPConnection) {
        let pattern = TCPTestService.pattern
        while connection.writableSpace > 0 {
            let count = Swift.min(connection.writableSpace, scratch.count)
            for index in 0..<count { scratch[index] = pattern[(patternOffset + index) % pattern.count] }
            let written = connection.write(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
            patternOffset = (patternOffset + written) % pattern.count
            if written == 0 { break }
        }
    }
}
