/// Reno congestion control (RFC 5681) with NewReno fast recovery (RFC 6582)
/// for one connection, in bytes.
///
/// The connection reports what the network told it (new acknowledgments,
/// duplicates, timeouts) and sends no more than `window` beyond what is in
/// flight; the decisions to retransmit are returned to it.
struct CongestionController {
    /// The sender MSS (SMSS) the window grows and shrinks by.
    private(set) var segmentSize = TCPConfiguration.minimumPeerMSS
    /// cwnd.
    private(set) var window = 0
    /// ssthresh: arbitrarily high until the first loss (RFC 5681 §3.1).
    private(set) var slowStartThreshold = 65535
    /// Duplicate acknowledgments in a row.
    private(set) var duplicateACKs = 0
    /// In fast recovery, until `recoveryPoint` is acknowledged.
    private(set) var inFastRecovery = false
    /// The highest sequence sent when recovery began (RFC 6582 "recover").
    private(set) var recoveryPoint = SequenceNumber(0)

    /// What a retransmission decision asks the connection to do.
    enum Retransmit: Equatable {
        case none
        /// Resend the first unacknowledged segment now.
        case firstUnacknowledged
    }

    /// Starts with the initial window once the connection is established
    /// (RFC 5681 §3.1): min(4 SMSS, max(2 SMSS, 4380 bytes)).
    mutating func start(segmentSize: Int) {
        self.segmentSize = segmentSize
        window = Swift.min(4 * segmentSize, Swift.max(2 * segmentSize, 4380))
    }

    /// `newly` bytes were newly acknowledged, up to `acknowledgment`. A
    /// partial acknowledgment in recovery asks for the next hole to be
    /// resent; a full one ends recovery with cwnd = ssthresh. Outside
    /// recovery cwnd grows by up to SMSS per ACK in slow start, and by about
    /// SMSS per window in congestion avoidance.
    mutating func acknowledged(_ newly: Int, upTo acknowledgment: SequenceNumber) -> Retransmit {
        var decision = Retransmit.none
        if inFastRecovery {
            if acknowledgment - recoveryPoint >= 0 {
                inFastRecovery = false
                window = slowStartThreshold
            } else {
                decision = .firstUnacknowledged
            }
        } else if window < slowStartThreshold {
            window += Swift.min(newly, segmentSize)
        } else {
            window += Swift.max(1, segmentSize * segmentSize / Swift.max(window, 1))
        }
        duplicateACKs = 0
        return decision
    }

    /// A duplicate acknowledgment with `flight` bytes outstanding and
    /// `sendNext` the next sequence to send. The third starts fast
    /// retransmit: ssthresh = max(flight/2, 2 SMSS), cwnd = ssthresh + 3 SMSS,
    /// recovery lasts until `sendNext` is acknowledged. Each further one in
    /// recovery inflates cwnd by SMSS.
    mutating func duplicateAcknowledged(flight: Int, sendNext: SequenceNumber) -> Retransmit {
        duplicateACKs += 1
        if duplicateACKs == 3 && !inFastRecovery {
            slowStartThreshold = Swift.max(flight / 2, 2 * segmentSize)
            inFastRecovery = true
            recoveryPoint = sendNext
            window = slowStartThreshold + 3 * segmentSize
            return .firstUnacknowledged
        }
        if duplicateACKs > 3 && inFastRecovery { window += segmentSize }
        return .none
    }

    /// A retransmission timeout with `flight` bytes outstanding (RFC 5681
    /// §3.1): ssthresh = max(flight/2, 2 SMSS), cwnd = one SMSS, recovery over.
    mutating func timedOut(flight: Int) {
        slowStartThreshold = Swift.max(flight / 2, 2 * segmentSize)
        window = segmentSize
        inFastRecovery = false
        duplicateACKs = 0
    }
}
