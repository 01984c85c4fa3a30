/// The admin actions the appliance takes from the admin network, over the
/// telemetry stream: the token check, finding the backend, doing it,
/// and reporting it (the kernel logs each one on the console and pushes it
/// to stream subscribers).
public final class AdminActions {
    public enum Action {
        case state(LoadBalancer.AdministrativeState, LoadBalancer.Service, LoadBalancer.Backend)
        case weight(Int, LoadBalancer.Service, LoadBalancer.Backend)
        case resetCounters
    }

    /// Why an action was not taken.
    public enum Refusal: Error, Sendable, Equatable {
        /// The appliance file sets no admin token.
        case actionsOff
        case unauthorized
        case noServices
        case noSuchBackend
    }

    let token: [UInt8]
    public let balancer: LoadBalancer?
    let resetCounters: () -> Void
    /// Called with each action taken, who asked, and how.
    public var onAction: ((Action, IPv4Address, TelemetryProtocol.Channel) -> Void)?
    /// Called when a source's failed tokens are due to be reported (at most
    /// once per `TokenFailureLimiter.reportInterval` per source).
    public var onUnauthorized: ((TokenFailureLimiter.Report) -> Void)?
    var limiter = TokenFailureLimiter()

    /// - Parameters:
    ///   - token: the admin token; empty refuses every action.
    ///   - resetCounters: zeroes what `reset-counters` covers beyond the balancer.
    public init(token: [UInt8], balancer: LoadBalancer?, resetCounters: @escaping () -> Void = {}) {
        self.token = token
        self.balancer = balancer
        self.resetCounters = resetCounters
    }

    public var enabled: Bool { !token.isEmpty }

    /// Checks a presented token, in constant time.
    public func authorize(_ presented: [UInt8]?) -> Refusal? {
        guard enabled else { return .actionsOff }
        guard let presented, AdminActions.constantTimeEqual(presented, token) else { return .unauthorized }
        return nil
    }

    /// What `check` decided about a presented token.
    public enum Verdict: Equatable {
        case allowed
        case actionsOff
        /// Checked and wrong; `report` is set when the failures are due to be reported.
        case unauthorized(report: TokenFailureLimiter.Report?)
        /// Refused: too many wrong tokens lately, from `peer` (which must
        /// wait `wait`; its token is still checked, and only the right one
        /// is served) or from all sources together (nothing is checked for
        /// `wait`). The answer is the same whether the token was checked or not.
        case rateLimited(wait: Interval, report: TokenFailureLimiter.Report?)
    }

    /// Checks a token presented by `peer`, in constant time, within the
    /// failure limits of `TokenFailureLimiter`.
    public func check(_ presented: [UInt8]?, from peer: IPv4Address, now: Instant) -> Verdict {
        guard enabled else { return .actionsOff }
        let sourceWait = limiter.wait(for: peer, now: now)
        if let globalWait = limiter.globalWait(now: now) {
            return refuse(peer, .unchecked, wait: max(globalWait, sourceWait ?? .zero), now: now)
        }
        guard authorize(presented) != nil else { return .allowed }
        if let sourceWait { return refuse(peer, .checkedWhileWaiting, wait: sourceWait, now: now) }
        let report = limiter.fail(peer, .checked, now: now)
        if let report { onUnauthorized?(report) }
        return .unauthorized(report: report)
    }

    private func refuse(_ peer: IPv4Address, _ failure: TokenFailureLimiter.Failure, wait: Interval, now: Instant) -> Verdict {
        let report = limiter.fail(peer, failure, now: now)
        if let report { onUnauthorized?(report) }
        return .rateLimited(wait: wait, report: report)
    }

    /// Reports failed tokens that were held back by the report interval.
    /// Call it every second or so; returns the reports also given to `onUnauthorized`.
    public func flushReports(now: Instant, _ each: (TokenFailureLimiter.Report) -> Void) {
        limiter.flush(now: now) { report in
            onUnauthorized?(report)
            each(report)
        }
    }

    /// The backend named `service`/`backend`, as UTF-8.
    public func find(service: [UInt8], backend: [UInt8]) -> Result<(LoadBalancer.Service, LoadBalancer.Backend), Refusal> {
        guard let balancer else { return .failure(.noServices) }
        for candidate in balancer.services where service.matches(candidate.configuration.name) {
            for member in candidate.backends where backend.matches(member.configuration.name) {
                return .success((candidate, member))
            }
        }
        return .failure(.noSuchBackend)
    }

    /// Takes an authorized action and reports it.
    public func perform(_ action: Action, peer: IPv4Address, channel: TelemetryProtocol.Channel) {
        switch action {
        case .state(let state, let service, let backend):
            balancer?.setAdministrative(state, service: service, backend: backend)
        case .weight(let weight, let service, let backend):
            balancer?.setWeight(weight, service: service, backend: backend)
        case .resetCounters:
            balancer?.resetStatistics()
            resetCounters()
        }
        onAction?(action, peer, channel)
    }

    /// Compares without stopping at the first difference, so timing does not reveal the token.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
