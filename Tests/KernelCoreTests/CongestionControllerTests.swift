import Testing
@testable import KernelCore

/// Reno (RFC 5681) with NewReno recovery (RFC 6582), in bytes, SMSS 1460.
@Suite struct CongestionControllerTests {
    static let mss = 1460

    func controller(segmentSize: Int = mss) -> CongestionController {
        var congestion = CongestionController()
        congestion.start(segmentSize: segmentSize)
        return congestion
    }

    /// §3.1: IW = min(4 SMSS, max(2 SMSS, 4380 bytes)).
    @Test(arguments: [(536, 2144), (1000, 4000), (1460, 4380), (2190, 4380), (4000, 8000)])
    func theInitialWindowFollowsTheSegmentSize(segmentSize: Int, window: Int) {
        let congestion = controller(segmentSize: segmentSize)
        #expect(congestion.window == window)
        #expect(congestion.slowStartThreshold == 65535)
        #expect(!congestion.inFastRecovery)
    }

    /// Slow start: cwnd grows by min(N, SMSS) per ACK of N new bytes.
    @Test func slowStartGrowsByAtMostOneSegmentPerACK() {
        var congestion = controller()
        #expect(congestion.acknowledged(1460, upTo: SequenceNumber(1461)) == .none)
        #expect(congestion.window == 4380 + 1460)
        _ = congestion.acknowledged(5000, upTo: SequenceNumber(6461))
        #expect(congestion.window == 4380 + 2 * 1460)
        _ = congestion.acknowledged(100, upTo: SequenceNumber(6561))
        #expect(congestion.window == 4380 + 2 * 1460 + 100)
    }

    /// §3.1: a timeout sets ssthresh = max(FlightSize/2, 2 SMSS) and cwnd = 1 SMSS.
    @Test func aTimeoutHalvesTheThresholdAndRestartsFromOneSegment() {
        var congestion = controller()
        congestion.timedOut(flight: 20_000)
        #expect(congestion.slowStartThreshold == 10_000)
        #expect(congestion.window == 1460)
        congestion.timedOut(flight: 1000)
        #expect(congestion.slowStartThreshold == 2 * 1460, "never below two segments")
    }

    /// Congestion avoidance: past ssthresh, cwnd grows by SMSS*SMSS/cwnd per ACK.
    @Test func congestionAvoidanceGrowsAboutOneSegmentPerWindow() {
        var congestion = controller()
        congestion.timedOut(flight: 8000)  // ssthresh 4000, cwnd 1460
        var acknowledged = SequenceNumber(0)
        var windows: [Int] = []
        for _ in 0..<4 {
            acknowledged += 1460
            _ = congestion.acknowledged(1460, upTo: acknowledged)
            windows.append(congestion.window)
        }
        // 1460 -> 2920 -> 4380 (slow start), then 4380 + 1460*1460/4380 = 4866, then 4866 + 438 = 5304.
        #expect(windows == [2920, 4380, 4866, 5304])
    }

    /// §3.2: the third duplicate ACK starts fast retransmit and recovery:
    /// ssthresh = max(FlightSize/2, 2 SMSS), cwnd = ssthresh + 3 SMSS.
    @Test func threeDuplicateACKsStartFastRetransmit() {
        var congestion = controller()
        let sendNext = SequenceNumber(100_000)
        #expect(congestion.duplicateAcknowledged(flight: 14_600, sendNext: sendNext) == .none)
        #expect(congestion.duplicateAcknowledged(flight: 14_600, sendNext: sendNext) == .none)
        #expect(congestion.window == 4380, "two duplicates change nothing")
        #expect(congestion.duplicateAcknowledged(flight: 14_600, sendNext: sendNext) == .firstUnacknowledged)
        #expect(congestion.slowStartThreshold == 7300)
        #expect(congestion.window == 7300 + 3 * 1460)
        #expect(congestion.inFastRecovery)
        #expect(congestion.recoveryPoint == sendNext)
        // Each further duplicate inflates cwnd by one segment, with no new retransmission.
        #expect(congestion.duplicateAcknowledged(flight: 14_600, sendNext: sendNext) == .none)
        #expect(congestion.window == 7300 + 4 * 1460)
    }

    @Test func fastRetransmitKeepsTwoSegmentsOfThreshold() {
        var congestion = controller()
        for _ in 0..<3 { _ = congestion.duplicateAcknowledged(flight: 2000, sendNext: SequenceNumber(1)) }
        #expect(congestion.slowStartThreshold == 2 * 1460)
        #expect(congestion.window == 5 * 1460)
    }

    /// RFC 6582 §3.2: a partial ACK (below the recovery point) resends the
    /// next hole and stays in recovery; a full ACK exits with cwnd = ssthresh.
    @Test func partialACKStaysInRecoveryAndFullACKExits() {
        var congestion = controller()
        let recover = SequenceNumber(50_000)
        for _ in 0..<4 { _ = congestion.duplicateAcknowledged(flight: 14_600, sendNext: recover) }
        let inflated = congestion.window
        #expect(congestion.acknowledged(1460, upTo: recover + -5000) == .firstUnacknowledged)
        #expect(congestion.inFastRecovery)
        #expect(congestion.window == inflated)
        #expect(congestion.duplicateACKs == 0)
        // Duplicates in recovery do not start a second fast retransmit.
        for _ in 0..<3 { #expect(congestion.duplicateAcknowledged(flight: 5000, sendNext: recover) == .none) }
        #expect(congestion.slowStartThreshold == 7300)
        #expect(congestion.acknowledged(5000, upTo: recover) == .none)
        #expect(!congestion.inFastRecovery)
        #expect(congestion.window == 7300)
    }

    /// A timeout during recovery ends it.
    @Test func aTimeoutEndsRecovery() {
        var congestion = controller()
        for _ in 0..<5 { _ = congestion.duplicateAcknowledged(flight: 14_600, sendNext: SequenceNumber(9)) }
        congestion.timedOut(flight: 14_600)
        #expect(!congestion.inFastRecovery)
        #expect(congestion.duplicateACKs == 0)
        #expect(congestion.window == 1460)
        #expect(congestion.slowStartThreshold == 7300)
        // Three new duplicates start a new fast retransmit.
        var decisions: [CongestionController.Retransmit] = []
        for _ in 0..<3 { decisions.append(congestion.duplicateAcknowledged(flight: 4000, sendNext: SequenceNumber(9))) }
        #expect(decisions == [.none, .none, .firstUnacknowledged])
    }
}
