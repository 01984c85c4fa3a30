import Foundation
import KernelCore
import SkerryConsole
import SkerryKit

/// The VM `skerry top` boots: a `BootSession` on a thread of its own whose
/// console, forwards and outcome go to the feed. It can be restarted, and
/// it is stopped (QEMU gone) before the dashboard exits.
public final class VMRunner: @unchecked Sendable {
    private var request: BootRequest
    private let feed: DashboardFeed
    private let imageName: String
    private let telemetryPort: UInt16
    private let lock = NSLock()
    private var session: BootSession?
    private var thread: Thread?
    private var finished = true

    /// - Parameter telemetryPort: the guest port of the appliance's telemetry; its forward is followed.
    public init(request: BootRequest, imageName: String, telemetryPort: UInt16, feed: DashboardFeed) {
        self.request = request
        self.imageName = imageName
        self.telemetryPort = telemetryPort
        self.feed = feed
    }

    public func start() {
        let request = lock.withLock { self.request }
        feed.updateVM { $0 = VMStatus(image: imageName, accelerator: request.accelerator.rawValue, state: .booting, startedAt: Date()) }
        let session: BootSession
        do {
            session = try BootSession(request: request) { [weak self] event in self?.observe(event) }
        } catch {
            feed.updateVM { $0?.state = .exited("could not start: \(error)") }
            return
        }
        lock.withLock {
            self.session = session
            finished = false
        }
        feed.setConsoleWriter { [weak session] line in session?.sendConsole(line + "\n") }
        nonisolated(unsafe) let running = session  // run on the VM thread; stop and sendConsole are thread-safe
        let thread = Thread { [weak self] in
            let result: BootResult
            do {
                result = try running.run()
            } catch {
                self?.feed.updateVM { $0?.state = .exited("\(error)") }
                self?.lock.withLock { self?.finished = true }
                return
            }
            self?.feed.setConsoleWriter(nil)
            self?.feed.endStream("the VM \(result.outcome == .cleanShutdown ? "shut down" : "exited"); the stream ended")
            self?.feed.updateVM { $0?.state = .exited("\(result.outcome.rawValue): \(result.detail)") }
            self?.lock.withLock { self?.finished = true }
        }
        thread.name = "vm"
        lock.withLock { self.thread = thread }
        thread.start()
    }

    /// The host port a forward of `guestPort` on `role` landed on, once QEMU is up.
    public func hostPort(role: InterfaceRole, guestPort: UInt16) -> UInt16? {
        lock.withLock {
            request.forwards.first { $0.role == role && $0.transport == .tcp && $0.guestPort == guestPort && $0.hostPort != 0 }?.hostPort
        }
    }

    /// Stops the VM and waits until QEMU is gone.
    public func stop() {
        let session = lock.withLock { self.session }
        session?.stop()
        while !lock.withLock({ finished }) { usleep(10_000) }
        lock.withLock { self.session = nil }
    }

    public func restart() {
        stop()
        feed.appendConsole("[skerry] restarting the VM")
        start()
    }

    /// What listens on a forward's guest port: the telemetry port, one of the admin NIC's test services, or another.
    private func kind(of forward: PortForward) -> HostPort.Kind {
        guard forward.role == .admin else { return .guest }
        if forward.transport == .tcp && forward.guestPort == telemetryPort { return .telemetry }
        return ApplianceBootPlan.testServices.first { $0.forward(in: [forward]) != nil }.map { .testService($0.name) } ?? .guest
    }

    private func observe(_ event: BootEvent) {
        switch event {
        case .started(_, let accelerator, _):
            feed.updateVM { $0?.accelerator = accelerator.rawValue }
        case .forwarded(let forward):
            // Keep the host port for restarts, so the telemetry address stays the same.
            lock.withLock {
                request.forwards.removeAll { $0.role == forward.role && $0.transport == forward.transport && $0.guestPort == forward.guestPort }
                request.forwards.append(forward)
            }
            feed.appendConsole("[skerry] \(forward.role.name.description) \(forward.transport.rawValue) \(forward.guestPort) is 127.0.0.1:\(forward.hostPort)")
            let port = HostPort(kind: kind(of: forward), role: forward.role.name.description,
                                transport: forward.transport.rawValue, guestPort: forward.guestPort, hostPort: forward.hostPort)
            feed.updateVM { vm in
                vm?.ports.removeAll { $0.role == port.role && $0.transport == port.transport && $0.guestPort == port.guestPort }
                vm?.ports.append(port)
                // The telemetry port first (the one `skerry stats` and `top --attach` take), then the services.
                vm?.ports.sort { $0.rank < $1.rank }
            }
            if forward.role == .admin && forward.transport == .tcp && forward.guestPort == telemetryPort {
                feed.attach(host: "127.0.0.1", port: forward.hostPort)
            }
        case .console(let time, let line):
            feed.appendConsole(line)
            if line.hasPrefix(String(describing: KernelContract.readyLine)) {
                feed.updateVM {
                    $0?.state = .running
                    $0?.readyAfter = time
                }
            }
        case .qemu(_, let line):
            feed.appendConsole("[qemu] \(line)")
        case .note(let message):
            feed.appendConsole("[skerry] \(message)")
        case .namespace, .finished:
            break
        }
    }
}

