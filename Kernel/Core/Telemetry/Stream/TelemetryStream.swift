/// The appliance's side of the telemetry stream (docs/telemetry.md): the
/// handshake, subscriptions with their snapshots, events pushed to
/// subscribers, and admin actions. Transport-free: `TelemetryServer` moves
/// bytes between TCP and the sessions; tests drive it directly.
///
/// Each session's memory is bounded: a request frame holds at most
/// `TelemetryProtocol.maximumRequestLength` bytes, and a client whose unsent
/// output passes `maximumPending` (whatever produced it: snapshots, events,
/// admin results) or that takes none of it for `stallLimit` is dropped.
/// While a snapshot is unsent the next ones are skipped. Only the client
/// taking its output counts as progress, never bytes it sends.
public final class TelemetryStream {
    public static let maximumPending = 256 * 1024
    public static let stallLimit = Interval.seconds(10)
    /// The hello must be complete this long after the connection opened.
    public static let helloLimit = Interval.seconds(5)
    /// A client that is not subscribed must complete a request (or the
    /// hello) at least this often, however slowly its bytes arrive.
    public static let requestLimit = Interval.seconds(10)
    /// A client's input is not read while this much of its output is unsent,
    /// so it cannot make more answers than it takes.
    public static let readPause = 16 * 1024

    let applianceName: StaticString
    public let actions: AdminActions
    let source: () -> MetricsSource
    public private(set) var sessions: [TelemetrySession] = []
    public private(set) var droppedClients: UInt64 = 0
    /// The telemetry port's counters: the stream's drops and token failures,
    /// and what `TelemetryServer` counts about its slots.
    public var counters = TelemetryCounters()
    var limits = LimitWatch()

    /// - Parameter source: the appliance's state, taken when a snapshot is due.
    public init(applianceName: StaticString, actions: AdminActions, source: @escaping () -> MetricsSource) {
        self.applianceName = applianceName
        self.actions = actions
        self.source = source
    }

    /// A session for a client from `peer` whose connection opened at `now`.
    public func open(peer: IPv4Address, now: Instant) -> TelemetrySession {
        let session = TelemetrySession(peer: peer, now: now)
        sessions.append(session)
        return session
    }

    public func close(_ session: TelemetrySession) {
        sessions.removeAll { $0 === session }
    }

    /// Takes bytes the client sent and answers what they complete.
    public func receive(_ bytes: UnsafeRawBufferPointer, from session: TelemetrySession, now: Instant) {
        guard session.state == .awaitingHello || session.state == .open else { return }
        session.input.append(contentsOf: bytes)
        while session.state == .awaitingHello || session.state == .open {
            let parse = session.state == .awaitingHello ? TelemetryRequest.parseHello(session.input) : TelemetryRequest.parse(session.input)
            switch parse {
            case .incomplete:
                if session.input.count > TelemetryProtocol.frameHeaderLength + TelemetryProtocol.maximumRequestLength {
                    session.fail(.tooLarge, "a request frame holds at most 1024 bytes")
                }
                return
            case .failure(let failure):
                session.input.removeAll()
                session.fail(failure.code, failure.message)
                return
            case .request(let request, let length):
                session.input.removeFirst(length)
                session.lastRequest = now
                if session.state == .awaitingHello, case .hello(let version) = request {
                    session.state = .open
                    session.version = version
                    let source = source()
                    TelemetryEncoder.hello(&session.output, version: version, applianceName: applianceName, uptime: source.uptime,
                                           adminEnabled: actions.enabled)
                } else {
                    handle(request, from: session, now: now)
                }
                if session.pendingCount > TelemetryStream.maximumPending {
                    drop(session, .outputOverflow)
                    return
                }
            }
        }
    }

    private func handle(_ request: TelemetryRequest, from session: TelemetrySession, now: Instant) {
        switch request {
        case .hello:
            break  // parsed only while awaiting the hello
        case .subscribe(let interval, let events):
            session.interval = interval
            session.events = events
            let source = source()
            TelemetryEncoder.schema(&session.output, source, version: session.version)
            snapshot(session, source, now: now)
        case .admin(let id, let token, let action, let service, let backend, let weight):
            let (code, message) = admin(action, token: token, service: service, backend: backend, weight: weight,
                                        peer: session.peer, now: now)
            TelemetryEncoder.result(&session.output, request: id, code, message)
        }
    }

    private func admin(_ code: TelemetryProtocol.AdminAction, token: [UInt8], service: [UInt8], backend: [UInt8], weight: UInt64,
                       peer: IPv4Address, now: Instant) -> (TelemetryProtocol.ResultCode, [UInt8]) {
        var message = ByteText()
        switch actions.check(token, from: peer, now: now) {
        case .actionsOff:
            message.write("admin actions are off: the appliance file sets no admin token")
            return (.actionsOff, message.bytes)
        case .unauthorized(let report):
            counters[.adminTokenFailures] += 1
            if let report { publish(.unauthorizedAdmin(report), uptime: source().uptime) }
            message.write("admin actions need the appliance's admin token")
            return (.unauthorized, message.bytes)
        case .rateLimited(let wait, let report):
            counters[.adminRateLimited] += 1
            if let report { publish(.unauthorizedAdmin(report), uptime: source().uptime) }
            message.write("rate-limited: too many wrong admin tokens from ")
            peer.write(to: &message)
            message.write("; try again in ")
            message.write(decimal: max(1, (wait.milliseconds + 999) / 1000))
            message.write(" s")
            return (.unauthorized, message.bytes)
        case .allowed:
            break
        }
        if code == .resetCounters {
            actions.perform(.resetCounters, peer: peer, channel: .stream)
            announce(code, -1, -1, weight: 0, peer: peer)
            message.write("counters reset")
            return (.ok, message.bytes)
        }
        guard code != .weight || weight <= UInt64(LoadBalancer.weights.upperBound) else {
            message.write("a weight is a number from 0 to 1000")
            return (.badRequest, message.bytes)
        }
        switch actions.find(service: service, backend: backend) {
        case .failure(.noServices):
            message.write("this appliance balances no services")
            return (.notFound, message.bytes)
        case .failure:
            message.write("no backend ")
            message.write(bytes: service)
            message.write("/")
            message.write(bytes: backend)
            return (.notFound, message.bytes)
        case .success(let (target, member)):
            message.write(bytes: service)
            message.write("/")
            message.write(bytes: backend)
            let serviceIndex = actions.balancer?.services.firstIndex { $0 === target } ?? -1
            let backendIndex = target.backends.firstIndex { $0 === member } ?? -1
            defer { announce(code, serviceIndex, backendIndex, weight: Int(weight), peer: peer) }
            switch code {
            case .weight:
                actions.perform(.weight(Int(weight), target, member), peer: peer, channel: .stream)
                message.write(" weight ")
                message.write(decimal: weight)
            default:
                let state = code.administrativeState ?? .enabled
                actions.perform(.state(state, target, member), peer: peer, channel: .stream)
                message.write(" is ")
                message.write(state.label)
            }
            return (.ok, message.bytes)
        }
    }

    /// Tells subscribers who took an admin action.
    private func announce(_ code: TelemetryProtocol.AdminAction, _ service: Int, _ backend: Int, weight: Int, peer: IPv4Address) {
        publish(.adminAction(code, service: service, backend: backend, weight: code == .weight ? weight : 0, peer: peer,
                             channel: .stream), uptime: source().uptime)
    }

    /// Makes the snapshots that are due, reports limits hit, and drops
    /// clients that stopped reading. Call it every 100 ms or so.
    public func tick(now: Instant) {
        var current: MetricsSource?
        for session in sessions {
            guard session.state == .open, let interval = session.interval, now >= session.nextSnapshot else { continue }
            if session.sent < session.snapshotEnd {
                session.skippedSnapshots += 1
                session.nextSnapshot = now + interval
                continue
            }
            if current == nil { current = source() }
            snapshot(session, current!, now: now)
        }
        if limits.due(now) {
            let state = current ?? source()
            limits.check(state, refusedClients: counters[.clientsRefused]) { limit, count in
                publish(.limitHit(limit, count: count), uptime: state.uptime)
            }
            actions.flushReports(now: now) { publish(.unauthorizedAdmin($0), uptime: state.uptime) }
        }
        for session in sessions {
            switch session.state {
            case .awaitingHello where now.since(session.opened) > TelemetryStream.helloLimit:
                drop(session, .deadline)
            case .open where session.pendingCount > 0 && now.since(session.lastProgress) > TelemetryStream.stallLimit:
                drop(session, .stall)
            case .open where session.interval == nil && now.since(session.lastRequest) > TelemetryStream.requestLimit:
                drop(session, .deadline)
            default:
                break
            }
        }
    }

    private func snapshot(_ session: TelemetrySession, _ source: MetricsSource, now: Instant) {
        let resets = source.firewall?.resets ?? 0
        // A client that has not seen every rule's counters since the last reset gets them all.
        let since = resets == session.firewallResets ? session.rulesSince : nil
        session.sequence += 1
        TelemetryEncoder.snapshot(&session.output, source, version: session.version, sequence: session.sequence,
                                  rulesSince: since)
        session.snapshotEnd = session.output.bytes.count
        session.rulesSince = source.now
        session.firewallResets = resets
        session.nextSnapshot = now + (session.interval ?? .zero)
        if session.pendingCount > TelemetryStream.maximumPending { drop(session, .outputOverflow) }
    }

    /// Pushes `event` to every subscriber that asked for events.
    public func publish(_ event: TelemetryEvent, uptime: Interval) {
        for session in sessions where session.state == .open && session.events {
            TelemetryEncoder.event(&session.output, event, version: session.version, uptime: uptime)
            if session.pendingCount > TelemetryStream.maximumPending { drop(session, .outputOverflow) }
        }
    }

    /// Why a session is dropped; each has its counter.
    enum DropReason { case outputOverflow, stall, deadline }

    private func drop(_ session: TelemetrySession, _ reason: DropReason) {
        guard session.state != .dropped else { return }
        session.state = .dropped
        session.output = TelemetryFrameWriter()
        session.input = []
        session.sent = 0
        droppedClients += 1
        switch reason {
        case .outputOverflow: counters[.outputOverflows] += 1
        case .stall: counters[.stalls] += 1
        case .deadline: counters[.deadlinesMissed] += 1
        }
    }
}

/// Notices limits being hit by watching their counters once a second.
struct LimitWatch {
    var previous: [UInt64] = []
    var last = Instant.zero

    mutating func due(_ now: Instant) -> Bool {
        guard previous.isEmpty || now.since(last) >= .seconds(1) else { return false }
        last = now
        return true
    }

    mutating func check(_ source: MetricsSource, refusedClients: UInt64, report: (TelemetryProtocol.Limit, UInt64) -> Void) {
        var current = [UInt64](repeating: 0, count: TelemetryProtocol.Limit.allCases.count)
        if let balancer = source.balancer {
            current[0] = balancer.tracker.counters[.tableFull]
            current[1] = balancer.tracker.counters[.snatPortsExhausted]
            current[2] = balancer.counters[.serviceLimit]
            current[3] = balancer.counters[.noBackend]
        }
        current[4] = source.firewall?.rateLimitedTotal ?? 0
        for interface in source.stack.interfaces {
            current[5] &+= interface.device.counters[.rxDropsNoBuffer]
            current[6] &+= interface.device.counters[.txDropsRingFull]
        }
        current[7] = refusedClients
        // unauthorized-admin (current[8]) is reported as it happens, with its source.
        if previous.count == current.count {
            for (index, limit) in TelemetryProtocol.Limit.allCases.enumerated() where current[index] > previous[index] {
                report(limit, current[index] - previous[index])
            }
        }
        previous = current
    }
}
