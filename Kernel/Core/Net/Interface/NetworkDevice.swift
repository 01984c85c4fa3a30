/// What a NIC driver counts. Every frame that does not make it through the
/// driver lands in one named counter.
public struct DeviceCounters: Sendable, Equatable {
    public var rxPackets: UInt64 = 0
    public var rxBytes: UInt64 = 0
    public var txPackets: UInt64 = 0
    public var txBytes: UInt64 = 0
    /// Received frames dropped because no buffer was free to replace them.
    public var rxDropsNoBuffer: UInt64 = 0
    /// Received frames the device flagged as errors, or of impossible length.
    public var rxDropsBadFrame: UInt64 = 0
    /// Frames not sent because the transmit ring was full.
    public var txDropsRingFull: UInt64 = 0
    /// Device-reported errors.
    public var errors: UInt64 = 0

    public init() {}
}

/// A NIC as the stack sees it. Drivers (virtio-net, vmxnet3) and test
/// doubles implement it; the stack never touches hardware.
public protocol NetworkDevice: AnyObject {
    /// `virtio-net` or `vmxnet3`.
    var model: StaticString { get }
    var macAddress: MACAddress { get }
    var linkUp: Bool { get }
    var counters: DeviceCounters { get }

    /// Reclaims finished transmissions and refills the receive ring; acknowledges interrupts.
    func service()
    /// The next received frame, or nil. The caller owns the buffer and
    /// returns it to the pool (or transmits it).
    func receive() -> PacketBuffer?
    /// Queues a frame. The device owns the buffer from here on, whatever
    /// the result; false means it was dropped (and counted).
    @discardableResult
    func transmit(_ buffer: PacketBuffer) -> Bool
}
