/// What the kernel promises the host tooling: the console lines that mark
/// milestones and the status values it writes to QEMU's isa-debug-exit port.
/// The host reads both; neither alone decides an outcome.
public enum KernelContract {
    /// I/O port of QEMU's `isa-debug-exit` device.
    public static let debugExitPort: UInt16 = 0xF4

    /// Values written to the debug-exit port. QEMU exits with `(value << 1) | 1`.
    public enum ExitValue: UInt8, CaseIterable, Sendable {
        case cleanShutdown = 0x10
        case failure = 0x11
        case panic = 0x12

        /// QEMU's process exit status for this value.
        public var qemuStatus: Int32 { Int32(rawValue) << 1 | 1 }

        /// The console line printed immediately before exiting with this value.
        public var finalLine: StaticString {
            switch self {
            case .cleanShutdown: return "skerry: shutdown clean"
            case .failure: return "skerry: shutdown failure"
            case .panic: return "skerry: shutdown panic"
            }
        }
    }

    /// Printed once the kernel has finished booting and is serving.
    public static let readyLine: StaticString = "skerry: ready"
    /// Starts a panic report; the rest of the line says why.
    public static let panicPrefix: StaticString = "PANIC: "
    /// Starts a kernel-reported failure; the rest of the line says why.
    public static let failurePrefix: StaticString = "FAILURE: "
    /// Starts the boot banner.
    public static let bannerPrefix: StaticString = "Skerry "
}
