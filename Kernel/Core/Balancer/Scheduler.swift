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
}

/// What the scheduler needs to know about one backend.
public struct SchedulingCandidate: Sendable {
    public var weight: Int
    public var activeConnections: Int
    /// Healthy, enabled and not draining.
    public var eligible: Bool

    public init(weight: Int, activeConnections: Int, eligible: Bool) {
        self.weight = weight
        self.activeConnections = activeConnections
        self.eligible = eligible
    }
}

/// Backend selection for one service. Keeps only the state the algorithm
/// needs (a cursor, smooth-WRR credits, a Maglev table) and allocates
/// nothing per pick.
public struct Scheduler: Sendable {
    public let algorithm: BalancingAlgorithm
    private var cursor = 0
    private var credits: [Int] = []
    private var maglev: MaglevTable?
    private var maglevEligibility: [Bool] = []
    private var maglevWeights: [Int] = []
    private let keys: [UInt64]

    /// `keys` identify the backends stably (for Maglev); one per backend.
    public init(algorithm: BalancingAlgorithm, keys: [UInt64]) {
        self.algorithm = algorithm
        self.keys = keys
        credits = Array(repeating: 0, count: keys.count)
    }

    /// The backend index for a new flow, or nil when none is eligible.
    public mutating func pick(_ candidates: [SchedulingCandidate], flowHash: UInt64) -> Int? {
        guard candidates.contains(where: { $0.eligible && $0.weight > 0 }) else { return nil }
        switch algorithm {
        case .roundRobin:
            for step in 0..<candidates.count {
                let index = (cursor + step) % candidates.count
                if candidates[index].eligible && candidates[index].weight > 0 {
                    cursor = index + 1
                    return index
                }
            }
            return nil
        case .weightedRoundRobin:
            // Smooth weighted round robin: the heaviest credit wins and pays the total.
            var total = 0
            var best: Int?
            for index in candidates.indices where candidates[index].eligible && candidates[index].weight > 0 {
                credits[index] += candidates[index].weight
                total += candidates[index].weight
                if best == nil || credits[index] > credits[best!] { best = index }
            }
            if let best { credits[best] -= total }
            return best
        case .leastConnections, .weightedLeastConnections:
            var best: Int?
            for index in candidates.indices where candidates[index].eligible && candidates[index].weight > 0 {
                guard let current = best else {
                    best = index
                    continue
                }
                let weighted = algorithm == .weightedLeastConnections
                // a/wa < b/wb  <=>  a*wb < b*wa, without division.
                let left = candidates[index].activeConnections * (weighted ? candidates[current].weight : 1)
                let right = candidates[current].activeConnections * (weighted ? candidates[index].weight : 1)
                if left < right { best = index }
            }
            return best
        case .sourceHash:
            var changed = maglev == nil || maglevEligibility.count != candidates.count
            if !changed {
                for index in candidates.indices
                where candidates[index].eligible != maglevEligibility[index] || candidates[index].weight != maglevWeights[index] {
                    changed = true
                    break
                }
            }
            if changed {
                // Rebuilt only when a backend's eligibility or weight changes, not per flow.
                maglevEligibility = candidates.map { $0.eligible }
                maglevWeights = candidates.map { $0.weight }
                maglev = MaglevTable(members: candidates.indices.map {
                    MaglevTable.Member(key: keys[$0], weight: candidates[$0].eligible ? candidates[$0].weight : 0)
                })
            }
            return maglev?.lookup(flowHash)
        }
    }
}
