import KernelCore

/// A test a candidate rule still needs at a leaf: the field must fall in
/// `ranges` (already clipped to the leaf's region).
struct FieldCondition: Hashable {
    var field: MatchField
    var ranges: [ValueRange]
}

/// A rule that may match in a leaf's region, with the conditions the
/// region does not already guarantee.
struct LeafCandidate: Hashable {
    var rule: Int
    var conditions: [FieldCondition]
}

/// A node of the decision structure for one (direction, interface) group.
/// Nodes are interned: identical subtrees share one id, so the generated
/// code holds each once.
enum DecisionNode: Hashable {
    /// Try the candidates in rule order; the first whose conditions hold wins.
    case leaf([LeafCandidate])
    /// Dispatch on `field`: child `i` covers values up to `uppers[i]`
    /// (from just above `uppers[i - 1]`, or the region's start).
    case split(field: MatchField, uppers: [UInt32], children: [Int])
    /// Two partitions of the rules, each with its own tree: the answer is
    /// the earlier of the two matches.
    case either(Int, Int)
}

/// Builds decision trees: recursive cuts on whichever field divides the
/// candidate rules best (elementary intervals of the rules' ranges), until
/// a handful remain, in the manner of HiCuts. Rules that would be copied
/// into too many children are split off into a second tree instead.
struct DecisionTreeBuilder {
    let rules: [FirewallRule]
    /// Candidates a leaf may hold before the builder tries to cut further.
    var leafSize = 4
    /// Children may hold at most this many times the parent's candidates in total.
    var replicationLimit = 4

    private(set) var nodes: [DecisionNode] = []
    private var ids: [DecisionNode: Int] = [:]

    init(rules: [FirewallRule]) { self.rules = rules }

    /// The root of the tree for the rules (indices, in order) of one group.
    mutating func build(_ candidates: [Int]) -> Int {
        build(candidates, region: MatchField.allCases.map(\.domain))
    }

    private mutating func intern(_ node: DecisionNode) -> Int {
        if let id = ids[node] { return id }
        nodes.append(node)
        ids[node] = nodes.count - 1
        return nodes.count - 1
    }

    private mutating func build(_ candidateRules: [Int], region: [ValueRange]) -> Int {
        let candidates = relevant(candidateRules, in: region)
        if candidates.count <= leafSize { return intern(.leaf(candidates)) }
        // Only cuts that leave every child smaller than this node are progress.
        let scores = MatchField.allCases.compactMap { field in
            score(field, candidates, region: region[field.rawValue]).map { (field: field, largest: $0.largest, total: $0.total) }
        }.filter { $0.largest < candidates.count }
        let limit = replicationLimit * candidates.count
        // The cut that divides best without copying rules too often...
        let cheap = scores.filter { $0.total <= limit }.min { ($0.largest, $0.total) < ($1.largest, $1.total) }
        // ...and the one that divides best at any price.
        let sharp = scores.min { ($0.largest, $0.total) < ($1.largest, $1.total) }
        if let sharp, sharp.total > limit, (cheap?.largest ?? candidates.count) > candidates.count / 2,
            candidates.count > 4 * leafSize
        {
            // The sharp cut copies too much: give the rules that test its
            // field their own tree, and the rest theirs.
            let specific = candidates.filter { $0.conditions.contains { $0.field == sharp.field } }
            let wildcard = candidates.filter { !$0.conditions.contains { $0.field == sharp.field } }
            if !specific.isEmpty && !wildcard.isEmpty {
                let first = build(specific.map(\.rule), region: region)
                let second = build(wildcard.map(\.rule), region: region)
                return intern(.either(first, second))
            }
        }
        guard let choice = cheap ?? sharp else { return intern(.leaf(candidates)) }
        let cut = partition(choice.field, candidates, region: region[choice.field.rawValue])
        var uppers: [UInt32] = []
        var children: [Int] = []
        let field = choice.field
        var lower = region[field.rawValue].lower
        var index = 0
        while index < cut.intervals.count {
            // Adjacent intervals with the same candidates become one child.
            var end = index
            while end + 1 < cut.intervals.count && cut.members[end + 1] == cut.members[index] { end += 1 }
            var childRegion = region
            childRegion[field.rawValue] = ValueRange(lower, cut.intervals[end].upper)
            children.append(build(cut.members[index].map { candidates[$0].rule }, region: childRegion))
            uppers.append(cut.intervals[end].upper)
            if cut.intervals[end].upper < UInt32.max { lower = cut.intervals[end].upper + 1 }
            index = end + 1
        }
        if children.count == 1 { return children[0] }
        return intern(.split(field: field, uppers: uppers, children: children))
    }

    /// The rules that can still match in `region`, with what each still needs
    /// checking, cut off after the first one that matches all of the region.
    private func relevant(_ candidateRules: [Int], in region: [ValueRange]) -> [LeafCandidate] {
        var result: [LeafCandidate] = []
        for rule in candidateRules {
            var conditions: [FieldCondition] = []
            var possible = true
            for (field, set) in rules[rule].matches.sorted(by: { $0.key < $1.key }) {
                let bounds = region[field.rawValue]
                let clipped = set.clipped(to: bounds)
                if clipped.isEmpty {
                    possible = false
                    break
                }
                if clipped != [bounds] { conditions.append(FieldCondition(field: field, ranges: clipped)) }
            }
            guard possible else { continue }
            result.append(LeafCandidate(rule: rule, conditions: conditions))
            if conditions.isEmpty { break }
        }
        return result
    }

    /// Boundary events of `field` within `bounds`: +1 where a candidate's
    /// range starts, -1 just past where it ends.
    private func events(_ field: MatchField, _ candidates: [LeafCandidate], bounds: ValueRange)
        -> (points: [UInt64], events: [(point: UInt64, position: Int, delta: Int)], unconditional: [Int])
    {
        var events: [(point: UInt64, position: Int, delta: Int)] = []
        var unconditional: [Int] = []
        for (position, candidate) in candidates.enumerated() {
            guard let condition = candidate.conditions.first(where: { $0.field == field }) else {
                unconditional.append(position)
                continue
            }
            for range in condition.ranges {
                events.append((UInt64(range.lower), position, 1))
                events.append((UInt64(range.upper) + 1, position, -1))
            }
        }
        var points = Set(events.map(\.point))
        points.insert(UInt64(bounds.lower))
        points = points.filter { $0 >= UInt64(bounds.lower) && $0 <= UInt64(bounds.upper) }
        return (points.sorted(), events.sorted { $0.point < $1.point }, unconditional)
    }

    private func score(_ field: MatchField, _ candidates: [LeafCandidate], region bounds: ValueRange)
        -> (largest: Int, total: Int)?
    {
        let (points, events, unconditional) = events(field, candidates, bounds: bounds)
        guard points.count > 1 else { return nil }
        var active = 0
        var next = 0
        var largest = 0
        var total = 0
        for point in points {
            while next < events.count && events[next].point <= point {
                active += events[next].delta
                next += 1
            }
            largest = max(largest, active + unconditional.count)
            total += active + unconditional.count
        }
        return (largest, total)
    }

    /// The elementary intervals of `field` and the candidates (positions) in each.
    private func partition(_ field: MatchField, _ candidates: [LeafCandidate], region bounds: ValueRange)
        -> (intervals: [ValueRange], members: [[Int]])
    {
        let (points, events, unconditional) = events(field, candidates, bounds: bounds)
        var intervals: [ValueRange] = []
        var members: [[Int]] = []
        var active = Set<Int>()
        var next = 0
        for (index, point) in points.enumerated() {
            while next < events.count && events[next].point <= point {
                if events[next].delta > 0 { active.insert(events[next].position) } else { active.remove(events[next].position) }
                next += 1
            }
            let upper = index + 1 < points.count ? UInt32(points[index + 1] - 1) : bounds.upper
            intervals.append(ValueRange(UInt32(point), upper))
            members.append((Array(active) + unconditional).sorted())
        }
        return (intervals, members)
    }
}
