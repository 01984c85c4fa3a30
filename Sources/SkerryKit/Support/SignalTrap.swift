import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGINT, SIGTERM and SIGHUP into a readable file descriptor, so a
/// poll loop can react to them between reads instead of dying mid-cleanup.
public enum SignalTrap {
    nonisolated(unsafe) private static var pipeFDs: [Int32] = [-1, -1]
    nonisolated(unsafe) private static var writeFD: Int32 = -1
    nonisolated(unsafe) public private(set) static var lastSignal: Int32 = 0
    /// How many signals have arrived: a second watcher (the dashboard, beside
    /// a boot session that drains the pipe) compares counts instead.
    nonisolated(unsafe) public private(set) static var count = 0

    public static let handled: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Installs the handlers (once) and returns the descriptor that becomes
    /// readable when one of the signals arrives.
    public static func install() -> Int32 {
        if pipeFDs[0] >= 0 { return pipeFDs[0] }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return -1 }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        pipeFDs = fds
        writeFD = fds[1]
        for signal in handled {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                SignalTrap.lastSignal = number
                SignalTrap.count &+= 1
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(SignalTrap.writeFD, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
        // A blocked mask is inherited across exec (from a test runner, say): unblock what we handle.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for signal in handled { sigaddset(&unblocked, signal) }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        return fds[0]
    }

    /// Empties the pipe; returns true if any signal had arrived.
    public static func drain() -> Bool {
        guard pipeFDs[0] >= 0 else { return false }
        var any = false
        var byte: UInt8 = 0
        while read(pipeFDs[0], &byte, 1) == 1 { any = true }
        return any
    }
}
