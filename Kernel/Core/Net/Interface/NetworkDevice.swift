/// What a NIC driver counts. Every frame that does not make it through the
/// driver lands in one named counter.
public enum DeviceCounter: Int, CounterKey, CaseIterable {
    case rxPackets
    case rxBytes
    case txPackets
    case txBytes
    /// Received frames dropped because no buffer was free to replace them.
    case rxDropsNoBuffer
    /// Received frames the device flagged as errors, or of impossible length.
    case rxDropsBadFrame
    /// Frames not sent because the transmit ring was full.
    case txDropsRingFull
    /// Device-reported errors.
    case errors

    public var name: StaticString {
        switch self {
        case .rxPackets: "rx-packets"
        case .rxBytes: "rx-bytes"
        case .txPackets: "tx-packets"
        case .txBytes: "tx-bytes"
        case .rxDropsNoBuffer: "rx-no-buffer"
        case .rxDropsBadFrame: "rx-bad-frame"
        case .txDropsRingFull: "tx-ring-full"
        case .errors: "error"
        }
    }
}

/// One count per `DeviceCounter`.
public typealias DeviceCounters = CounterSet<DeviceCounter>

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
