/// How a service picks a backend for a new connection.
public enum BalancingAlgorithm: Sendable, Equatable, CaseIterable {
    case roundRobin
    case weightedRoundRobin
    case leastConnections
    case weightedLeastConnections
    /// Maglev consistent hashing of the client's address and port.
    case sourceHash

    /// The name the appliance file uses.
    public var name: StaticString {
        switch self {
        case .roundRobin: return "round-robin"
        case .weightedRoundRobin: return "weighted-round-robin"
        case .leastConnections: return "least-connections"
        case .weightedLeastConnections: return "weighted-least-connections"
        case .sourceHash: return "source-hash"
        }
    }

    /// Whether the configured weights steer it (round robin and least
    /// connections give every backend an equal share).
    var usesWeights: Bool {
        switch self {
        case .weightedRoundRobin, .weightedLeastConnections, .sourceHash: true
        case .roundRobin, .leastConnections: false
        }
    }
}

/// What the scheduler needs to know about one backend.
public struct SchedulingCandidate: Sendable {
    public var weight: Int
    public var activeConnections: Int
    /// Healthy, enabled, not draining and under its connection limit.
    public var eligible: Bool
    /// Already tried by this connection: eligible, but not for this pick.
    public var excluded: Bool
    /// Takes connections only while no primary candidate can.
    public var backup: Bool
    /// The share of its weight it takes, in thousandths (`SlowStart`).
    public var slowStartPermille: Int

    public init(weight: Int, activeConnections: Int, eligible: Bool, excluded: Bool = false, backup: Bool = false,
                slowStartPermille: Int = SlowStart.fullPermille) {
        self.weight = weight
        self.activeConnections = activeConnections
        self.eligible = eligible
        self.excluded = excluded
        self.backup = backup
        self.slowStartPermille = slowStartPermille
    }

    /// May take this connection, ignoring the backup rule.
    var usable: Bool { eligible && !excluded && weight > 0 && slowStartPermille > 0 }
}

/// Backend selection for one service. Keeps only the state the algorithm
/// needs (a cursor, smooth-WRR credits, a Maglev table per tier) and
/// allocates nothing per pick.
///
/// Backups: the candidates of one tier compete at a time, the primaries
/// while any of them is usable, the backups otherwise.
///
/// Slow start: a candidate's effective weight is its weight (1 for the
/// unweighted algorithms) times its `slowStartPermille`. While any
/// candidate ramps, round robin picks by smooth weighted round robin over
/// those weights and least connections breaks its ties by it, so the
/// ramping backend gets a proportionally smaller share of new connections
/// whether they stay open or not. Maglev rounds the share down to
/// `SlowStart.steps` values so that a ramp rebuilds its table at most that
/// many times.
public struct Scheduler: Sendable {
    public let algorithm: BalancingAlgorithm
    private var cursor = 0
    private var credits: [Int] = []
    /// Maglev tables: the primaries' and the backups'.
    private var tables = [MaglevTier(), MaglevTier()]
    private let keys: [UInt64]
    /// How many times a Maglev table was built: on changes of its members'
    /// eligibility or weight, never per flow.
    public private(set) var maglevBuilds = 0

    /// `keys` identify the backends stably (for Maglev); one per backend.
    public init(algorithm: BalancingAlgorithm, keys: [UInt64]) {
        self.algorithm = algorithm
        self.keys = keys
        credits = Array(repeating: 0, count: keys.count)
    }

    /// The backend index for a new flow, or nil when no candidate is usable.
    public mutating func pick(_ candidates: [SchedulingCandidate], flowHash: UInt64) -> Int? {
        var anyUsable = false
        var backupTier = true
        for candidate in candidates where candidate.usable {
            anyUsable = true
            if !candidate.backup {
                backupTier = false
                break
            }
        }
        guard anyUsable else { return nil }
        var ramping = false
        for candidate in candidates where candidate.usable && candidate.backup == backupTier
            && candidate.slowStartPermille < SlowStart.fullPermille {
            ramping = true
            break
        }
        switch algorithm {
        case .roundRobin:
            if ramping { return smoothWeighted(candidates, backupTier: backupTier) }
            for step in 0..<candidates.count {
                let index = (cursor + step) % candidates.count
                if Scheduler.allowed(candidates[index], backupTier) {
                    cursor = index + 1
                    return index
                }
            }
            return nil
        case .weightedRoundRobin:
            return smoothWeighted(candidates, backupTier: backupTier)
        case .leastConnections, .weightedLeastConnections:
            return leastLoaded(candidates, backupTier: backupTier, breakTiesByWeight: ramping)
        case .sourceHash:
            let tier = backupTier ? 1 : 0
            if tables[tier].update(candidates, backupTier: backupTier, keys: keys) { maglevBuilds += 1 }
            if let found = tables[tier].table?.lookup(flowHash, accepting: { Scheduler.allowed(candidates[$0], backupTier) }) {
                return found
            }
            // A member too light to own a slot is still reachable.
            return candidates.indices.first { Scheduler.allowed(candidates[$0], backupTier) }
        }
    }

    @inline(__always)
    private static func allowed(_ candidate: SchedulingCandidate, _ backupTier: Bool) -> Bool {
        candidate.usable && candidate.backup == backupTier
    }

    /// Weight times slow-start share; equal weights for the unweighted algorithms.
    @inline(__always)
    private func effectiveWeight(_ candidate: SchedulingCandidate) -> Int {
        (algorithm.usesWeights ? candidate.weight : 1) * candidate.slowStartPermille
    }

    /// Smooth weighted round robin: the heaviest credit wins and pays the
    /// total. With `tiedWith`, only the candidates as loaded as it compete.
    private mutating func smoothWeighted(_ candidates: [SchedulingCandidate], backupTier: Bool, tiedWith reference: Int? = nil) -> Int? {
        var total = 0
        var best: Int?
        for index in candidates.indices where Scheduler.allowed(candidates[index], backupTier) {
            if let reference, compareLoad(candidates[index], candidates[reference]) != 0 { continue }
            let weight = effectiveWeight(candidates[index])
            credits[index] += weight
            total += weight
            if best == nil || credits[index] > credits[best!] { best = index }
        }
        if let best { credits[best] -= total }
        return best
    }

    /// The sign of a's active connections per unit of effective weight
    /// minus b's: a/wa vs b/wb as a*wb vs b*wa, without division.
    @inline(__always)
    private func compareLoad(_ a: SchedulingCandidate, _ b: SchedulingCandidate) -> Int {
        let left = a.activeConnections * effectiveWeight(b)
        let right = b.activeConnections * effectiveWeight(a)
        return left < right ? -1 : (left > right ? 1 : 0)
    }

    /// The candidate with the fewest active connections per unit of
    /// effective weight; ties go to the first, or by weight while ramping.
    private mutating func leastLoaded(_ candidates: [SchedulingCandidate], backupTier: Bool, breakTiesByWeight: Bool) -> Int? {
        var best: Int?
        for index in candidates.indices where Scheduler.allowed(candidates[index], backupTier) {
            if let current = best, compareLoad(candidates[index], candidates[current]) >= 0 { continue }
            best = index
        }
        guard breakTiesByWeight, let best else { return best }
        return smoothWeighted(candidates, backupTier: backupTier, tiedWith: best)
    }
}

/// One tier's Maglev table and the member weights it was built from.
struct MaglevTier: Sendable {
    var table: MaglevTable?
    /// Per backend: its stepped effective weight in this table (0: not a member).
    private var weights: [Int] = []

    /// Rebuilds the table when a member's eligibility or stepped weight
    /// changed. Exclusions and the other tier do not count: a tried backend
    /// is skipped at lookup. Returns whether it rebuilt.
    mutating func update(_ candidates: [SchedulingCandidate], backupTier: Bool, keys: [UInt64]) -> Bool {
        var changed = table == nil || weights.count != candidates.count
        if !changed {
            for index in candidates.indices where memberWeight(candidates[index], backupTier) != weights[index] {
                changed = true
                break
            }
        }
        guard changed else { return false }
        weights = candidates.map { memberWeight($0, backupTier) }
        table = MaglevTable(members: candidates.indices.map { MaglevTable.Member(key: keys[$0], weight: weights[$0]) })
        return true
    }

    @inline(__always)
    private func memberWeight(_ candidate: SchedulingCandidate, _ backupTier: Bool) -> Int {
        guard candidate.eligible, candidate.backup == backupTier, candidate.weight > 0 else { return 0 }
        return candidate.weight * SlowStart.stepped(candidate.slowStartPermille)
    }
}
