/// One entry of the firmware's memory map.
public struct MemoryRegion: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case available, reserved, acpiReclaimable, acpiNVS, defective }

    public var base: UInt64
    public var length: UInt64
    public var kind: Kind

    public init(base: UInt64, length: UInt64, kind: Kind) {
        self.base = base
        self.length = length
        self.kind = kind
    }

    /// Multiboot's type numbers: 1 available, 3 ACPI reclaimable, 4 ACPI NVS, 5 bad RAM.
    public init(base: UInt64, length: UInt64, multibootType: UInt32) {
        let kind: Kind
        switch multibootType {
        case 1: kind = .available
        case 3: kind = .acpiReclaimable
        case 4: kind = .acpiNVS
        case 5: kind = .defective
        default: kind = .reserved
        }
        self.init(base: base, length: length, kind: kind)
    }

    public var end: UInt64 { base &+ length }
}

/// Where the heap goes: the largest stretch of available memory above
/// everything the loader placed (kernel image, boot information, command
/// line) and below the end of the identity map.
///
/// Regions are offered one at a time because the choice is made before the
/// heap exists, when nothing can be collected into an array.
public struct HeapPlacement: Sendable {
    public let floor: UInt64
    public let ceiling: UInt64
    public private(set) var best: (start: UInt64, end: UInt64)?
    public private(set) var availableBytes: UInt64 = 0

    public init(reservedBelow floor: UInt64, mappedBelow ceiling: UInt64) {
        self.floor = floor
        self.ceiling = ceiling
    }

    public mutating func consider(_ region: MemoryRegion) {
        guard region.kind == .available else { return }
        availableBytes += region.length
        let start = (Swift.max(region.base, floor) + 4095) & ~4095
        let end = Swift.min(region.end, ceiling) & ~4095
        guard end > start else { return }
        if let current = best, current.end - current.start >= end - start { return }
        best = (start, end)
    }
}
