/// The telemetry port's server: the client table over a `TCPListener`,
/// telling the telemetry stream (`SKTP`) from HTTP by the first four
/// bytes, and every limit a client meets (docs/telemetry.md, "Limits"):
///
/// - `maximumClients` slots, at most `perSourceClients` of them for one
///   source address. A client that finds no slot is refused in its own
///   protocol (an `error` frame `busy`, or `503`); when the slots are
///   taken by clients still in their handshake or idle, the oldest of them
///   is closed to make room instead.
/// - Deadlines that hold however slowly bytes arrive: the protocol's first
///   bytes and the stream hello within 5 s, an HTTP request within 5 s and
///   its answer taken within 10 s, a stream request at least every 10 s
///   until the client subscribes (`TelemetryStream`).
/// - Output: everything queued for a client, in the session and in TCP,
///   counts toward `TelemetryStream.maximumPending`; a client that takes
///   none of its output (TCP acknowledges nothing) for
///   `TelemetryStream.stallLimit` is reset. Its input is not read while
///   its output is backed up.
/// - A connection we close, a client closed to make room included, is
///   reset if not gone `closeLimit` later; every connection also carries
///   TCP's `idleTimeout`.
///
/// Time comes from `clock`; the kernel passes its clock, tests a simulated one.
public final class TelemetryServer {
    public static let maximumClients = 16
    public static let perSourceClients = 8
    /// An HTTP client's request must be complete this long after it connected.
    public static let httpRequestLimit = Interval.seconds(5)
    /// An HTTP client must have taken its whole response this long after it connected.
    public static let httpLimit = Interval.seconds(10)
    /// A client in its handshake, or idle, this long may be closed to make room.
    public static let evictionGrace = Interval.seconds(1)
    /// Refused clients held at once while their first bytes say which
    /// protocol to refuse them in; more are reset.
    public static let maximumRefusing = 4
    /// How long a refused client has to send its first bytes.
    public static let refusalLimit = Interval.seconds(2)
    /// A connection we closed must be gone this long after.
    public static let closeLimit = Interval.seconds(10)
    /// Every accepted connection's `TCPConnection.idleTimeout`: a backstop
    /// for any connection the server no longer watches. Longer than the
    /// longest subscription interval (60 s), since a subscriber's progress
    /// is TCP acknowledging its snapshots.
    public static let idleTimeout = Interval.seconds(90)

    public let listener: TCPListener
    public let stream: TelemetryStream
    let http: MetricsHTTP
    let clock: () -> Instant
    private(set) var clients: [Client] = []
    private(set) var refusing: [Client] = []
    /// Clients closed to make room: no slot, but held to `closeLimit`.
    private(set) var evicted: [Client] = []
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)

    /// Serves `listener` from now on: its connections' events and `tick` drive it.
    public init(listener: TCPListener, stream: TelemetryStream, http: MetricsHTTP, clock: @escaping () -> Instant) {
        self.listener = listener
        self.stream = stream
        self.http = http
        self.clock = clock
        listener.onAcceptable = { [self] in acceptAll(now: clock()) }
    }

    deinit { scratch.deallocate() }

    /// The telemetry port's counters (kept by the stream, shared with it).
    public var counters: TelemetryCounters { stream.counters }

    /// Clients holding a slot.
    public var clientCount: Int { clients.count }

    /// Clients holding a slot from `source`.
    public func clientCount(from source: IPv4Address) -> Int {
        clients.reduce(0) { $0 + ($1.source == source ? 1 : 0) }
    }

    /// Makes due snapshots, moves bytes, and enforces deadlines and bounds.
    /// Call it every 100 ms or so.
    public func tick(now: Instant) {
        acceptAll(now: now)
        stream.tick(now: now)
        for client in clients + refusing { serve(client, now: now) }
        for client in clients + refusing + evicted where !client.connection.isFinished { enforce(client, now: now) }
        forgetFinished()
    }

    /// Stops listening and resets every client.
    public func stop() {
        listener.onAcceptable = nil
        listener.close()
        for client in clients + refusing + evicted {
            client.connection.onEvent = nil
            client.connection.abort()
        }
        forgetFinished()
    }

    // MARK: Slots

    private func acceptAll(now: Instant) {
        while let connection = listener.accept() {
            connection.idleTimeout = TelemetryServer.idleTimeout
            if makeRoom(for: connection.endpoints.remoteAddress, now: now) {
                stream.counters[.clientsAccepted] += 1
                let client = Client(connection: connection, accepted: now)
                clients.append(client)
                watch(connection)
                serve(client, now: now)
            } else {
                refuse(connection, now: now)
            }
        }
        forgetFinished()
    }

    private func watch(_ connection: TCPConnection) {
        connection.onEvent = { [self] connection in
            let now = clock()
            if let client = clients.first(where: { $0.connection === connection })
                ?? refusing.first(where: { $0.connection === connection })
            {
                serve(client, now: now)
                forgetFinished()
            }
        }
    }

    /// Whether a client from `source` may have a slot, closing one still in
    /// its handshake or idle if that is what it takes.
    private func makeRoom(for source: IPv4Address, now: Instant) -> Bool {
        if clientCount(from: source) >= TelemetryServer.perSourceClients { return evict(from: source, now: now) }
        if clients.count >= TelemetryServer.maximumClients { return evict(from: nil, now: now) }
        return true
    }

    /// Closes the oldest evictable client (of `source`, if given).
    private func evict(from source: IPv4Address?, now: Instant) -> Bool {
        var chosen: Client?
        for client in clients where source == nil || client.source == source! {
            guard evictable(client, now: now) else { continue }
            if chosen == nil || client.accepted < chosen!.accepted { chosen = client }
        }
        guard let chosen else { return false }
        stream.counters[.clientsEvicted] += 1
        if case .stream(let session) = chosen.phase, session.state == .open {
            var frame = TelemetryFrameWriter()
            TelemetryEncoder.error(&frame, .busy, "closed to make room for a new client: all telemetry slots are taken")
            frame.bytes.withUnsafeBytes { _ = chosen.connection.write($0) }
            // Out of the table and its session closed, but held until TCP
            // finishes: as a refused client, it has only TCP's queue left.
            forget(chosen)
            chosen.phase = .refusing
            close(chosen, now: now)
            evicted.append(chosen)
        } else {
            chosen.connection.abort()
            forget(chosen)
        }
        return true
    }

    /// Still in its handshake, or an idle stream client with nothing
    /// waiting for it, for at least `evictionGrace`; never a subscriber or
    /// an HTTP client being answered.
    private func evictable(_ client: Client, now: Instant) -> Bool {
        guard client.closedAt == nil, now.since(client.accepted) >= TelemetryServer.evictionGrace else { return false }
        switch client.phase {
        case .sniffing: return true
        case .http: return !client.answered
        case .refusing: return false
        case .stream(let session):
            switch session.state {
            case .awaitingHello: return true
            case .open:
                return session.interval == nil && client.queued == 0
                    && now.since(session.lastRequest) >= TelemetryServer.evictionGrace
            default: return false
            }
        }
    }

    /// Answers `busy` or `503` once the client's first bytes arrive, or
    /// resets it if too many are already waiting for that.
    private func refuse(_ connection: TCPConnection, now: Instant) {
        stream.counters[.clientsRefused] += 1
        guard refusing.count < TelemetryServer.maximumRefusing else {
            connection.abort()
            return
        }
        let client = Client(connection: connection, accepted: now)
        client.phase = .refusing
        refusing.append(client)
        watch(connection)
        serve(client, now: now)
    }

    // MARK: Serving

    private func serve(_ client: Client, now: Instant) {
        let connection = client.connection
        guard !connection.isFinished else { return }
        switch client.phase {
        case .sniffing, .refusing:
            sniff(client, now: now)
        case .http:
            serveHTTP(client, now: now)
        case .stream(let session):
            serveStream(client, session, now: now)
        }
        noteProgress(client, now: now)
    }

    /// Reads up to the four bytes that tell the protocols apart.
    private func sniff(_ client: Client, now: Instant) {
        let connection = client.connection
        while client.request.count < 4, connection.readableBytes > 0 {
            let want = 4 - client.request.count
            let count = connection.read(into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<want]))
            client.request += UnsafeRawBufferPointer(rebasing: scratch[0..<count])
        }
        guard client.request.count == 4 else {
            if connection.atEndOfStream { close(client, now: now) }
            return
        }
        let bytes = client.request
        let magic = TelemetryProtocol.magic
        let isStream = bytes[0] == magic.0 && bytes[1] == magic.1 && bytes[2] == magic.2 && bytes[3] == magic.3
        if case .refusing = client.phase {
            if isStream {
                var frame = TelemetryFrameWriter()
                TelemetryEncoder.error(&frame, .busy, "all telemetry slots are taken; try again later")
                client.response = frame.bytes
            } else {
                client.response = MetricsHTTP.busy
            }
            client.answered = true
            sendResponse(client, now: now)
            return
        }
        if isStream {
            let session = stream.open(peer: client.source, now: client.accepted)
            client.phase = .stream(session)
            client.request = []
            bytes.withUnsafeBytes { stream.receive($0, from: session, now: now) }
            serveStream(client, session, now: now)
        } else {
            client.phase = .http
            serveHTTP(client, now: now)
        }
    }

    private func serveHTTP(_ client: Client, now: Instant) {
        let connection = client.connection
        if !client.answered {
            // At most one byte past the longest request, so a flood cannot grow it.
            while client.request.count <= HTTPRequest.maximumLength, connection.readableBytes > 0 {
                let want = min(scratch.count, HTTPRequest.maximumLength + 1 - client.request.count)
                let count = connection.read(into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<want]))
                client.request += UnsafeRawBufferPointer(rebasing: scratch[0..<count])
            }
            switch HTTPRequest.parse(client.request) {
            case .incomplete:
                if connection.atEndOfStream { close(client, now: now) }
                return
            case .invalid:
                client.response = MetricsHTTP.badRequest
            case .complete(let request):
                client.response = http.respond(to: request)
            }
            client.answered = true
            client.request = []
        }
        sendResponse(client, now: now)
    }

    /// Writes what TCP takes of the response; closes once it is all written.
    private func sendResponse(_ client: Client, now: Instant) {
        let connection = client.connection
        while client.sent < client.response.count, connection.writableSpace > 0 {
            let end = min(client.response.count, client.sent + connection.writableSpace)
            let written = client.response[client.sent..<end].withUnsafeBytes { connection.write($0) }
            if written == 0 { break }
            client.sent += written
            client.written += written
        }
        if client.sent == client.response.count && client.closedAt == nil {
            client.response = []
            client.sent = 0
            // Whatever else it sent is not read: drop it so close() has nothing to wait for.
            while connection.readableBytes > 0 { _ = connection.read(into: scratch) }
            close(client, now: now)
        }
    }

    private func serveStream(_ client: Client, _ session: TelemetrySession, now: Instant) {
        let connection = client.connection
        while session.wantsInput, connection.readableBytes > 0 {
            let count = connection.read(into: scratch)
            stream.receive(UnsafeRawBufferPointer(rebasing: scratch[0..<count]), from: session, now: now)
        }
        session.send({ bytes in
            let taken = connection.write(bytes)
            client.written += taken
            return taken
        }, now: now)
        switch session.state {
        case .dropped:
            connection.abort()
        case .closing where session.pendingCount == 0:
            close(client, now: now)
        default:
            if connection.atEndOfStream && session.pendingCount == 0 { close(client, now: now) }
        }
    }

    private func close(_ client: Client, now: Instant) {
        guard client.closedAt == nil else { return }
        client.closedAt = now
        client.connection.close()
    }

    // MARK: Bounds

    /// Progress is the client taking its output: TCP's queue shrinking.
    private func noteProgress(_ client: Client, now: Instant) {
        let consumed = client.written - client.queuedInTCP
        if consumed > client.consumed || client.queued == 0 {
            client.consumed = max(client.consumed, consumed)
            client.lastConsumed = now
        }
    }

    private func enforce(_ client: Client, now: Instant) {
        noteProgress(client, now: now)
        let age = now.since(client.accepted)
        var isStream = false
        if case .stream = client.phase { isStream = true }
        if let closedAt = client.closedAt {
            if now.since(closedAt) > TelemetryServer.closeLimit { reset(client, nil) }
        } else {
            switch client.phase {
            case .sniffing where age > TelemetryStream.helloLimit:
                reset(client, .deadline)
            case .http where !client.answered && age > TelemetryServer.httpRequestLimit:
                reset(client, .deadline)
            case .http where age > TelemetryServer.httpLimit:
                reset(client, .deadline)
            case .refusing where age > TelemetryServer.refusalLimit:
                reset(client, nil)
            default:
                break
            }
        }
        guard !client.connection.isFinished else { return }
        if isStream && client.queued > TelemetryStream.maximumPending {
            reset(client, .outputOverflow)
        } else if client.queued > 0 && now.since(client.lastConsumed) > TelemetryStream.stallLimit {
            reset(client, .stall)
        }
    }

    /// Resets `client`, counting why (nil: a refused client, already counted).
    private func reset(_ client: Client, _ reason: TelemetryStream.DropReason?) {
        switch reason {
        case .deadline: stream.counters[.deadlinesMissed] += 1
        case .outputOverflow: stream.counters[.outputOverflows] += 1
        case .stall: stream.counters[.stalls] += 1
        case nil: break
        }
        client.connection.abort()
    }

    // MARK: Table

    private func forgetFinished() {
        for client in clients + refusing + evicted where client.connection.isFinished { forget(client) }
    }

    /// Takes `client` out of the table; TCP finishes whatever close is under way.
    private func forget(_ client: Client) {
        if case .stream(let session) = client.phase { stream.close(session) }
        client.connection.onEvent = nil
        clients.removeAll { $0 === client }
        refusing.removeAll { $0 === client }
        evicted.removeAll { $0 === client }
    }
}
