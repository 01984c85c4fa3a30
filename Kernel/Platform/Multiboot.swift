/// The Multiboot v1 information structure left in memory by the loader.
struct MultibootInfo {
    static let bootloaderMagic: UInt32 = 0x2BAD_B002

    let address: UInt64

    private func u32(_ offset: UInt64) -> UInt32 {
        UnsafeRawPointer(bitPattern: UInt(address + offset)).unsafelyUnwrapped.loadUnaligned(as: UInt32.self)
    }

    var flags: UInt32 { u32(0) }

    /// The command line's bytes, without the terminating NUL.
    var commandLine: UnsafeBufferPointer<UInt8> {
        guard flags & (1 << 2) != 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        let start = UnsafePointer<UInt8>(bitPattern: UInt(u32(16)))
        guard let start else { return UnsafeBufferPointer(start: nil, count: 0) }
        var length = 0
        while length < 4096 && start[length] != 0 { length += 1 }
        return UnsafeBufferPointer(start: start, count: length)
    }

    /// The command line without the image path QEMU's `-kernel` puts first
    /// and GRUB's `multiboot` leaves out (`LoaderCommandLine`).
    var arguments: UnsafeBufferPointer<UInt8> {
        let line = commandLine
        return UnsafeBufferPointer(rebasing: line[LoaderCommandLine.argumentsStart(in: line)...])
    }

    /// Calls `body` with each entry of the BIOS memory map, or with the
    /// basic lower/upper sizes when the loader gave no map. Allocates nothing.
    func forEachRegion(_ body: (MemoryRegion) -> Void) {
        if flags & (1 << 6) != 0 {
            let length = UInt64(u32(44))
            let base = UInt64(u32(48))
            var offset: UInt64 = 0
            while offset + 24 <= length {
                let entry = UnsafeRawPointer(bitPattern: UInt(base + offset)).unsafelyUnwrapped
                let size = UInt64(entry.loadUnaligned(as: UInt32.self))
                body(MemoryRegion(
                    base: entry.loadUnaligned(fromByteOffset: 4, as: UInt64.self),
                    length: entry.loadUnaligned(fromByteOffset: 12, as: UInt64.self),
                    multibootType: entry.loadUnaligned(fromByteOffset: 20, as: UInt32.self)))
                offset += size + 4
            }
        } else if flags & 1 != 0 {
            body(MemoryRegion(base: 0, length: UInt64(u32(4)) * 1024, multibootType: 1))
            body(MemoryRegion(base: 0x10_0000, length: UInt64(u32(8)) * 1024, multibootType: 1))
        }
    }

    /// The highest address occupied by the information structure, the
    /// command line and the memory map. The heap must start above it.
    var highestUsedAddress: UInt64 {
        var highest = address + 88
        if flags & (1 << 2) != 0 {
            highest = max(highest, UInt64(u32(16)) + UInt64(commandLine.count) + 1)
        }
        if flags & (1 << 6) != 0 {
            highest = max(highest, UInt64(u32(48)) + UInt64(u32(44)))
        }
        return highest
    }
}
