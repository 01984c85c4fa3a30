/// Memory shared with devices. The heap is identity-mapped, so a pointer's
/// value is the physical address a device is given.
enum DMAMemory {
    /// Zeroed memory that is never freed: rings live as long as the kernel.
    static func allocate(_ byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: alignment)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        return memory
    }

    @inline(__always) static func address(_ pointer: UnsafeMutableRawPointer) -> UInt64 {
        UInt64(UInt(bitPattern: pointer))
    }
}

/// Why a NIC could not be brought up.
enum DriverError: Error {
    case noIOBar
    case noMemoryBar
    case unsupportedRevision
    case queueUnavailable
    case activationFailed(UInt32)

    var message: StaticString {
        switch self {
        case .noIOBar: return "no I/O BAR"
        case .noMemoryBar: return "no memory BAR"
        case .unsupportedRevision: return "device revision not supported"
        case .queueUnavailable: return "virtqueue missing or too small"
        case .activationFailed: return "device refused activation"
        }
    }
}
