extension TelemetryServer {
    /// One accepted connection and where it stands.
    final class Client {
        enum Phase {
            /// Waiting for the first four bytes.
            case sniffing
            case http
            case stream(TelemetrySession)
            /// Refused: answered `busy` or `503` in its protocol once its first bytes arrive.
            case refusing
        }

        let connection: TCPConnection
        let accepted: Instant
        var phase = Phase.sniffing
        /// The first bytes, then (HTTP) the request.
        var request: [UInt8] = []
        var response: [UInt8] = []
        var sent = 0
        var answered = false
        /// When we closed the connection, if we did.
        var closedAt: Instant?
        /// Bytes handed to TCP, and how many of them the client has taken (TCP acknowledged).
        var written = 0
        var consumed = 0
        /// The last time the client took output, or had none waiting.
        var lastConsumed: Instant

        init(connection: TCPConnection, accepted: Instant) {
            self.connection = connection
            self.accepted = accepted
            lastConsumed = accepted
        }

        var source: IPv4Address { connection.endpoints.remoteAddress }

        /// Bytes waiting in TCP's send buffer: written, not yet acknowledged.
        var queuedInTCP: Int { connection.released ? 0 : connection.sendBuffer.count }

        /// Everything queued for the client, ours and TCP's.
        var queued: Int {
            var ours = 0
            switch phase {
            case .stream(let session): ours = session.pendingCount
            case .http, .refusing: ours = response.count - sent
            case .sniffing: break
            }
            return ours + queuedInTCP
        }
    }
}
