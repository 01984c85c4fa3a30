import Foundation
import SkerryConsole
import SkerryKit
#if canImport(Glibc)
import Glibc
#endif

/// The serial console `skerry top --attach … --console ADDRESS` reads: its
/// lines go to the feed, and lines typed in the console view go back to
/// the kernel shell.
///
/// A `unix:` socket is the one `skerry boot --console` serves, which closes
/// when the VM ends: its closing ends the dashboard's stream. A `tcp:` or
/// `telnet:` console (QEMU's serial server, a vSphere network serial port,
/// a relay) may drop and come back: the loss is shown as a banner and the
/// connection retried, after `firstRetry` seconds doubling to `maximumRetry`.
public final class SerialSocket: @unchecked Sendable {
    public static let firstRetry = 1.0
    public static let maximumRetry = 8.0

    public let address: ConsoleAddress
    private let lock = NSLock()
    private var closed = false
    private var connection: ConsoleConnection?

    /// Connects once (an error when nothing answers), then follows the console on a thread of its own.
    public init(address: ConsoleAddress, feed: DashboardFeed) throws(ConsoleConnection.Failure) {
        self.address = address
        let first = try ConsoleConnection.connect(address)
        connection = first
        let thread = Thread { [weak self] in self?.follow(first, feed: feed) }
        thread.name = "console"
        thread.start()
    }

    private func follow(_ first: ConsoleConnection, feed: DashboardFeed) {
        var connection = first
        while !isClosed {
            feed.setConsoleWriter { line in connection.send(line: line) }
            var lines = ConsoleLines()
            while let bytes = connection.receive(timeout: 0.25), !isClosed {
                for line in lines.feed(bytes) { feed.appendConsole(line) }
            }
            if let last = lines.flush() { feed.appendConsole(last) }
            feed.setConsoleWriter(nil)
            if isClosed { return }
            let reason = connection.endReason ?? "closed"
            if address.path != nil {
                // skerry boot closes its console socket only when the VM ends: the telemetry stream is over too.
                feed.appendConsole("[skerry] the console socket closed")
                feed.endStream("the console socket closed: the VM is gone")
                return
            }
            feed.appendConsole("[skerry] console \(address) lost: \(reason)")
            guard let next = reconnect(reason: reason, feed: feed) else { return }
            connection = next
            lock.withLock { self.connection = next }
            feed.setConsoleLost(nil)
            feed.appendConsole("[skerry] console \(address) reconnected")
        }
    }

    /// Retries with backoff, showing the countdown, until connected (or closed: nil).
    private func reconnect(reason: String, feed: DashboardFeed) -> ConsoleConnection? {
        var delay = SerialSocket.firstRetry
        var reason = reason
        while !isClosed {
            let retryAt = Date().addingTimeInterval(delay)
            feed.setConsoleLost(ConsoleLinkLoss(address: address.description, reason: reason, retryAt: retryAt))
            while !isClosed && Date() < retryAt { Thread.sleep(forTimeInterval: 0.1) }
            if isClosed { return nil }
            do throws(ConsoleConnection.Failure) {
                return try ConsoleConnection.connect(address, timeout: 2)
            } catch {
                reason = "\(error)"
            }
            delay = min(SerialSocket.maximumRetry, delay * 2)
        }
        return nil
    }

    /// `close` was called: the connection ended at our end.
    var isClosed: Bool { lock.withLock { closed } }

    public func close() {
        let connection = lock.withLock {
            closed = true
            return self.connection
        }
        connection?.close()
    }
}
