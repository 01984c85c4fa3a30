/// The retransmission timeout of one connection, from its measured round
/// trips (RFC 6298).
///
/// One segment is timed at a time; its acknowledgment gives a sample that
/// updates SRTT and RTTVAR (§2). A timeout doubles the RTO (§5.5) and, by
/// Karn's rule, a retransmission cancels the sample in progress (§3).
struct RTTEstimator {
    /// The clock granularity G of RFC 6298 §2.
    static let granularity = Interval.milliseconds(1)

    /// The bounds every computed RTO is clamped to (§2.4, §2.5).
    let minimum: Interval
    let maximum: Interval
    /// SRTT, nil until the first sample.
    private(set) var smoothed: Interval?
    /// RTTVAR.
    private(set) var variance = Interval.zero
    /// The current RTO.
    private(set) var timeout: Interval
    /// The segment being timed: an acknowledgment of `sequence` ends it.
    private(set) var timing: (sequence: SequenceNumber, sentAt: Instant)?

    init(initial: Interval, minimum: Interval, maximum: Interval) {
        timeout = initial
        self.minimum = minimum
        self.maximum = maximum
    }

    /// Starts timing a segment that ends just before `sequence`, unless one is already timed.
    mutating func startTiming(until sequence: SequenceNumber, at now: Instant) {
        if timing == nil { timing = (sequence, now) }
    }

    /// Karn's rule: a retransmission makes the timed segment's acknowledgment ambiguous.
    mutating func cancelTiming() {
        timing = nil
    }

    /// Takes a sample if `acknowledgment` covers the timed segment.
    mutating func acknowledged(_ acknowledgment: SequenceNumber, at now: Instant) {
        guard let timing, acknowledgment - timing.sequence >= 0 else { return }
        self.timing = nil
        add(sample: now.since(timing.sentAt))
    }

    /// RFC 6298 §2.2-2.4: the first sample sets SRTT = R, RTTVAR = R/2;
    /// later ones RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, SRTT = 7/8 SRTT + 1/8 R.
    /// RTO = SRTT + max(G, 4 RTTVAR), within `minimum...maximum`.
    mutating func add(sample rtt: Interval) {
        if let smoothed {
            let difference = smoothed > rtt ? smoothed.nanoseconds - rtt.nanoseconds : rtt.nanoseconds - smoothed.nanoseconds
            variance = Interval(nanoseconds: (3 * variance.nanoseconds + difference) / 4)
            self.smoothed = Interval(nanoseconds: (7 * smoothed.nanoseconds + rtt.nanoseconds) / 8)
        } else {
            smoothed = rtt
            variance = Interval(nanoseconds: rtt.nanoseconds / 2)
        }
        let rto = smoothed! + Swift.max(RTTEstimator.granularity, Interval(nanoseconds: 4 * variance.nanoseconds))
        timeout = Swift.min(Swift.max(rto, minimum), maximum)
    }

    /// RFC 6298 §5.5: after a timeout the RTO doubles, up to `maximum`.
    mutating func backOff() {
        timeout = Swift.min(Interval(nanoseconds: timeout.nanoseconds * 2), maximum)
    }
}
