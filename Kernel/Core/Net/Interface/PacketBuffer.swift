/// One frame's worth of memory, owned by a `PacketPool`.
///
/// A frame starts `headroom` bytes into the storage, which leaves room for
/// a NIC's own header (virtio-net puts 10 bytes before the frame).
public final class PacketBuffer {
    public static let capacity = 2048
    public static let headroom = 64

    /// Start of the buffer's memory; identity-mapped, so also its DMA address.
    public let storage: UnsafeMutableRawPointer
    /// Position in the pool.
    public let index: Int
    /// Length of the frame that starts at `headroom`.
    public var length = 0

    init(storage: UnsafeMutableRawPointer, index: Int) {
        self.storage = storage
        self.index = index
    }

    public var frameStart: UnsafeMutableRawPointer { storage + PacketBuffer.headroom }
    public static var maximumFrameLength: Int { capacity - headroom }

    /// The frame's bytes.
    public var frame: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: frameStart, count: length)
    }

    /// All the room a frame can use, regardless of its current length.
    public var frameCapacity: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: frameStart, count: PacketBuffer.maximumFrameLength)
    }
}

/// A fixed set of packet buffers, carved from one allocation at start-up,
/// so the data path never allocates: buffers circulate between the NICs'
/// rings, the stack and this free list.
public final class PacketPool {
    public let buffers: [PacketBuffer]
    private var free: [Int]
    private let memory: UnsafeMutableRawPointer
    public private(set) var exhaustedCount: UInt64 = 0
    public private(set) var lowWater: Int

    public init(count: Int) {
        memory = UnsafeMutableRawPointer.allocate(byteCount: count * PacketBuffer.capacity, alignment: 4096)
        var buffers: [PacketBuffer] = []
        buffers.reserveCapacity(count)
        for index in 0..<count {
            buffers.append(PacketBuffer(storage: memory + index * PacketBuffer.capacity, index: index))
        }
        self.buffers = buffers
        free = Array((0..<count).reversed())
        lowWater = count
    }

    deinit { memory.deallocate() }

    public var available: Int { free.count }
    public var count: Int { buffers.count }

    /// A buffer with `length` 0, or nil when all are in use (counted).
    public func take() -> PacketBuffer? {
        guard let index = free.popLast() else {
            exhaustedCount += 1
            return nil
        }
        if free.count < lowWater { lowWater = free.count }
        let buffer = buffers[index]
        buffer.length = 0
        return buffer
    }

    public func give(_ buffer: PacketBuffer) {
        free.append(buffer.index)
    }
}
