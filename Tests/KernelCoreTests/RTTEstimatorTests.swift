import Testing
@testable import KernelCore

/// RFC 6298 with the connection's bounds: 1 s initial, 200 ms minimum, 60 s maximum.
@Suite struct RTTEstimatorTests {
    let start = Instant(nanoseconds: 5_000_000_000)

    func estimator() -> RTTEstimator {
        RTTEstimator(initial: .seconds(1), minimum: .milliseconds(200), maximum: .seconds(60))
    }

    @Test func beforeAnySampleTheInitialRTOHolds() {
        let rtt = estimator()
        #expect(rtt.smoothed == nil)
        #expect(rtt.timeout == .seconds(1))
    }

    /// §2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4 RTTVAR).
    @Test func theFirstSampleSetsSRTTAndHalfOfItAsVariance() {
        var rtt = estimator()
        rtt.add(sample: .milliseconds(100))
        #expect(rtt.smoothed == .milliseconds(100))
        #expect(rtt.variance == .milliseconds(50))
        #expect(rtt.timeout == .milliseconds(300))
    }

    /// §2.3: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|, then SRTT = 7/8 SRTT + 1/8 R'.
    @Test func laterSamplesAreSmoothed() {
        var rtt = estimator()
        rtt.add(sample: .milliseconds(100))
        rtt.add(sample: .milliseconds(200))
        #expect(rtt.variance == .microseconds(62_500))
        #expect(rtt.smoothed == .microseconds(112_500))
        #expect(rtt.timeout == .microseconds(112_500 + 250_000))
        rtt.add(sample: .milliseconds(40))
        // |112.5 - 40| = 72.5; RTTVAR = (3 * 62.5 + 72.5) / 4 = 65; SRTT = (7 * 112.5 + 40) / 8 = 103.4375.
        #expect(rtt.variance == .milliseconds(65))
        #expect(rtt.smoothed == .microseconds(103_437) + Interval(nanoseconds: 500))
        #expect(rtt.timeout == .microseconds(103_437) + Interval(nanoseconds: 500) + .milliseconds(260))
    }

    /// §2.4: whenever RTO is computed below the minimum it is rounded up to it.
    @Test func aShortRoundTripGivesTheMinimumRTO() {
        var rtt = estimator()
        rtt.add(sample: .milliseconds(10))
        #expect(rtt.smoothed == .milliseconds(10))
        #expect(rtt.timeout == .milliseconds(200))
    }

    /// §2.5: a maximum may be placed on RTO.
    @Test func aLongRoundTripGivesTheMaximumRTO() {
        var rtt = estimator()
        rtt.add(sample: .seconds(50))
        #expect(rtt.timeout == .seconds(60))
    }

    /// §2: the variance term is at least the clock granularity G (1 ms).
    @Test func aSteadyRoundTripKeepsTheGranularityAboveSRTT() {
        var rtt = estimator()
        for _ in 0..<40 { rtt.add(sample: .milliseconds(300)) }
        #expect(rtt.smoothed == .milliseconds(300))
        #expect(rtt.variance.nanoseconds * 4 < RTTEstimator.granularity.nanoseconds)
        #expect(rtt.timeout == .milliseconds(301))
    }

    /// §5.5: each timeout doubles RTO, up to the maximum.
    @Test func backOffDoublesUpToTheMaximum() {
        var rtt = estimator()
        var expected: [UInt64] = []
        var seen: [UInt64] = []
        for step in 1...8 {
            rtt.backOff()
            seen.append(rtt.timeout.milliseconds)
            expected.append(Swift.min(1000 << step, 60_000))
        }
        #expect(seen == expected)
        #expect(seen.last == 60_000)
    }

    /// A sample after back-off replaces the backed-off RTO.
    @Test func aSampleAfterBackOffRecomputesRTO() {
        var rtt = estimator()
        rtt.backOff()
        rtt.backOff()
        #expect(rtt.timeout == .seconds(4))
        rtt.add(sample: .milliseconds(100))
        #expect(rtt.timeout == .milliseconds(300))
    }

    /// One segment is timed at a time; its acknowledgment gives the sample.
    @Test func theAcknowledgmentOfTheTimedSegmentGivesTheSample() {
        var rtt = estimator()
        rtt.startTiming(until: SequenceNumber(1000), at: start)
        // A second segment sent while the first is timed is not timed.
        rtt.startTiming(until: SequenceNumber(2000), at: start + .milliseconds(50))
        rtt.acknowledged(SequenceNumber(999), at: start + .milliseconds(80))
        #expect(rtt.smoothed == nil, "an acknowledgment short of the timed segment is no sample")
        rtt.acknowledged(SequenceNumber(1000), at: start + .milliseconds(100))
        #expect(rtt.smoothed == .milliseconds(100))
        #expect(rtt.timing == nil)
        rtt.acknowledged(SequenceNumber(2000), at: start + .milliseconds(400))
        #expect(rtt.smoothed == .milliseconds(100), "the untimed second segment gives no sample")
    }

    /// §3, Karn's rule: no sample from a retransmitted segment.
    @Test func karnsRuleCancelsTheSampleOfARetransmission() {
        var rtt = estimator()
        rtt.startTiming(until: SequenceNumber(1000), at: start)
        rtt.cancelTiming()
        rtt.acknowledged(SequenceNumber(1000), at: start + .seconds(3))
        #expect(rtt.smoothed == nil)
        #expect(rtt.timeout == .seconds(1))
    }

    /// Sequence comparison holds across the 2^32 wrap.
    @Test func timingWorksAcrossSequenceWrap() {
        var rtt = estimator()
        rtt.startTiming(until: SequenceNumber(UInt32.max - 10) + 100, at: start)
        rtt.acknowledged(SequenceNumber(UInt32.max - 10), at: start + .milliseconds(10))
        #expect(rtt.smoothed == nil)
        rtt.acknowledged(SequenceNumber(UInt32.max - 10) + 200, at: start + .milliseconds(120))
        #expect(rtt.smoothed == .milliseconds(120))
    }
}
