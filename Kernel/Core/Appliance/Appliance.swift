/// The appliance: the network stack with the firewall and the balancer on
/// its hook chains, the balancer's health checker, the telemetry port
/// (stream, `/metrics`, admin actions) and the admin network's test
/// services, wired together once, here.
///
/// The kernel builds one from its image's configuration and drives it from
/// the event loop (`poll`, `tick`, `nextDeadline`); host tests build one
/// over test devices. It lives as long as what runs it: the kernel's never
/// ends, so the references its parts keep to each other are never undone.
public final class Appliance {
    public static let echoPort: UInt16 = 7
    public static let discardPort: UInt16 = 9
    public static let chargenPort: UInt16 = 19
    /// How often `tick` should run.
    public static let tickInterval = Interval.milliseconds(100)

    public let settings: ApplianceSettings
    public let stack: NetworkStack
    public let firewall: Firewall?
    public let balancer: LoadBalancer?
    private let balancerHook: BalancerHook?
    public let healthChecker: HealthChecker?
    /// Admin actions, from the telemetry port (and the console's shell, which needs no token).
    public let actions: AdminActions
    public let stream: TelemetryStream
    /// The telemetry port's server; nil when the port could not be opened.
    public let telemetry: TelemetryServer?
    /// Echo, discard and chargen over TCP on the admin address.
    public let testServices: [TCPTestService]
    let environment: ApplianceEnvironment
    private let relay: Relay

    /// Balancer events, after stream subscribers have been told (the kernel logs them).
    public var onBalancerEvent: ((LoadBalancer.Event) -> Void)? {
        get { relay.balancerEvent }
        set { relay.balancerEvent = newValue }
    }

    /// Where the balancer's events go besides the stream, and the appliance
    /// for the telemetry port's metrics; filled in once the parts exist.
    private final class Relay {
        var balancerEvent: ((LoadBalancer.Event) -> Void)?
        var appliance: Appliance?
    }

    public init(settings: ApplianceSettings, pool: PacketPool, interfaces: [NetworkInterface], environment: ApplianceEnvironment,
                tcpConfiguration: TCPConfiguration = TCPConfiguration(),
                random: @escaping () -> UInt32 = { UInt32.random(in: 0...UInt32.max) }) {
        let relay = Relay()
        let clock = environment.clock
        self.relay = relay
        self.settings = settings
        self.environment = environment
        let stack = NetworkStack(pool: pool, interfaces: interfaces, tcpConfiguration: tcpConfiguration, random: random)
        stack.defaultRoute = settings.defaultRoute
        self.stack = stack

        let admin = stack.interface(.admin)
        var services: [TCPTestService] = []
        if let admin {
            stack.bindUDP(port: Self.echoPort, on: [.admin]) { datagram in
                stack.sendUDP(from: Self.echoPort, to: datagram.source, port: datagram.sourcePort,
                              payload: UnsafeRawBufferPointer(datagram.payload), now: clock())
            }
            for (port, kind) in [(Self.echoPort, TCPTestService.Kind.echo), (Self.discardPort, .discard), (Self.chargenPort, .chargen)] {
                if let listener = stack.tcp.listen(port: port, addresses: [admin.address], backlog: 64, limits: TCPTestService.limits) {
                    services.append(TCPTestService(kind: kind, listener: listener))
                }
            }
        }
        testServices = services

        // The firewall comes first on both chains: nothing sees a packet it refuses.
        firewall = settings.firewall
        if let firewall = settings.firewall { stack.install(FirewallHook(firewall)) }

        if !settings.services.isEmpty, let publicInterface = stack.interface(.public),
            let privateInterface = stack.interface(.private)
        {
            let balancer = LoadBalancer(
                services: settings.services, publicAddress: publicInterface.address, privateAddress: privateInterface.address)
            let hook = BalancerHook(balancer)
            stack.inbound.append(hook)
            balancerHook = hook
            self.balancer = balancer
            healthChecker = HealthChecker(balancer: balancer, tcp: stack.tcp, source: privateInterface.address, now: clock())
        } else {
            balancer = nil
            balancerHook = nil
            healthChecker = nil
        }

        let firewall = settings.firewall
        actions = AdminActions(token: settings.adminToken, balancer: balancer) { firewall?.resetCounters() }
        let stream = TelemetryStream(applianceName: settings.name, actions: actions) { relay.appliance!.metricsSource() }
        self.stream = stream
        if let balancer {
            balancer.onEvent = { event in
                stream.publish(TelemetryEvent(event, in: balancer), uptime: clock().since(.zero))
                relay.balancerEvent?(event)
            }
        }
        if let admin, let listener = stack.tcp.listen(port: settings.telemetryPort, addresses: [admin.address], backlog: 16) {
            let http = MetricsHTTP { ApplianceMetrics.write(relay.appliance!.metricsSource()).bytes }
            telemetry = TelemetryServer(listener: listener, stream: stream, http: http, clock: clock)
        } else {
            telemetry = nil
        }
        relay.appliance = self
    }

    /// Services the NICs and handles what arrived, and TCP's due timers.
    /// Returns true if there was any work.
    public func poll(now: Instant) -> Bool {
        stack.poll(now: now)
    }

    /// The earliest moment `poll` has timer work.
    public var nextDeadline: Instant? { stack.nextDeadline }

    /// Periodic work, every `tickInterval`: ARP, the balancer's connect
    /// timeouts and connection table sweep, health checks, and the
    /// telemetry port's clients.
    public func tick(now: Instant) {
        stack.tick(now: now)
        balancerHook?.tick(stack: stack, now: now)
        balancer?.sweep(now: now)
        healthChecker?.tick(now: now)
        telemetry?.tick(now: now)
    }

    /// Gratuitous ARP and gateway resolution, once the NICs are up.
    public func announce(now: Instant) {
        stack.announce(now: now)
    }

    /// Everything `/metrics` and the stream report, as of now.
    public func metricsSource() -> MetricsSource {
        let now = environment.clock()
        var source = MetricsSource(
            now: now, uptime: now.since(.zero), heapUsed: 0, heapFree: 0, heapPeak: 0, stack: stack, firewall: firewall,
            ruleName: settings.ruleName)
        source.balancer = balancer
        source.telemetry = stream.counters
        environment.system(&source)
        return source
    }
}
