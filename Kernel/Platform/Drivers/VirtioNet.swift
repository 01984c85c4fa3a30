/// A split virtqueue in the legacy layout: descriptors, the available ring,
/// then (page-aligned) the used ring.
struct Virtqueue {
    let size: Int
    let memory: UnsafeMutableRawPointer
    private let available: UnsafeMutableRawPointer
    private let used: UnsafeMutableRawPointer
    private var availableIndex: UInt16 = 0
    private var usedSeen: UInt16 = 0

    static func byteCount(size: Int) -> Int {
        align(16 * size + 6 + 2 * size) + align(6 + 8 * size)
    }

    private static func align(_ value: Int) -> Int { (value + 4095) & ~4095 }

    init(size: Int) {
        self.size = size
        memory = DMAMemory.allocate(Virtqueue.byteCount(size: size), alignment: 4096)
        available = memory + 16 * size
        used = memory + Virtqueue.align(16 * size + 6 + 2 * size)
    }

    var pageFrame: UInt32 { UInt32(truncatingIfNeeded: DMAMemory.address(memory) >> 12) }

    func setDescriptor(_ index: Int, address: UInt64, length: Int, deviceWritable: Bool) {
        let descriptor = memory + 16 * index
        descriptor.storeBytes(of: address, as: UInt64.self)
        descriptor.storeBytes(of: UInt32(length), toByteOffset: 8, as: UInt32.self)
        descriptor.storeBytes(of: deviceWritable ? 2 : 0, toByteOffset: 12, as: UInt16.self)
        descriptor.storeBytes(of: 0, toByteOffset: 14, as: UInt16.self)
    }

    /// Suppresses the device's interrupts for this queue.
    func suppressInterrupts() { available.storeBytes(of: 1, as: UInt16.self) }

    /// Makes descriptor `index` available; the index store is ordered after
    /// the descriptor's contents.
    mutating func offer(_ index: Int) {
        available.storeBytes(of: UInt16(index), toByteOffset: 4 + 2 * (Int(availableIndex) % size), as: UInt16.self)
        memoryBarrier()
        availableIndex &+= 1
        mmioWrite16(UInt(bitPattern: available + 2), availableIndex)
    }

    /// The next descriptor the device has finished with, and the bytes it wrote.
    mutating func nextUsed() -> (index: Int, length: Int)? {
        let deviceIndex = mmioRead16(UInt(bitPattern: used + 2))
        guard deviceIndex != usedSeen else { return nil }
        let element = used + 4 + 8 * (Int(usedSeen) % size)
        usedSeen &+= 1
        return (Int(mmioRead32(UInt(bitPattern: element))), Int(mmioRead32(UInt(bitPattern: element + 4))))
    }
}

/// virtio-net over the legacy (0.9.5) PCI transport: one receive and one
/// transmit queue, no offloads, polled from the event loop with receive
/// interrupts only to wake it.
final class VirtioNet: NetworkDevice {
    let model: StaticString = "virtio-net"
    let macAddress: MACAddress
    private(set) var counters = DeviceCounters()
    private let io: UInt16
    private let pool: PacketPool
    private let hasStatus: Bool
    private var receiveQueue: Virtqueue
    private var transmitQueue: Virtqueue
    private var receiving: [PacketBuffer?]
    private var sending: [PacketBuffer?]
    private var freeTransmit: [Int]

    static let headerLength = 10
    static let featureMAC: UInt32 = 1 << 5
    static let featureStatus: UInt32 = 1 << 16
    /// Receive buffers kept posted; the rest of the queue stays unused.
    static let receiveDepth = 128

    private enum Register {
        static let deviceFeatures: UInt16 = 0x00
        static let driverFeatures: UInt16 = 0x04
        static let queueAddress: UInt16 = 0x08
        static let queueSize: UInt16 = 0x0C
        static let queueSelect: UInt16 = 0x0E
        static let queueNotify: UInt16 = 0x10
        static let status: UInt16 = 0x12
        static let interruptStatus: UInt16 = 0x13
        static let config: UInt16 = 0x14
    }

    init(device: PCIDevice, pool: PacketPool) throws(DriverError) {
        guard let io = device.bar(0).port else { throw .noIOBar }
        self.io = io
        self.pool = pool
        device.enable()
        outb(io + Register.status, 0)
        outb(io + Register.status, 1)  // acknowledge
        outb(io + Register.status, 3)  // driver
        let offered = inl(io + Register.deviceFeatures)
        let accepted = offered & (VirtioNet.featureMAC | VirtioNet.featureStatus)
        outl(io + Register.driverFeatures, accepted)
        hasStatus = accepted & VirtioNet.featureStatus != 0

        var mac: UInt64 = 0
        for index in 0..<6 { mac = mac << 8 | UInt64(inb(io + Register.config + UInt16(index))) }
        macAddress = MACAddress(value: mac)

        func setUpQueue(_ number: UInt16) throws(DriverError) -> Virtqueue {
            outw(io + Register.queueSelect, number)
            let size = Int(inw(io + Register.queueSize))
            guard size >= 16, size & (size - 1) == 0 else { throw .queueUnavailable }
            let queue = Virtqueue(size: size)
            outl(io + Register.queueAddress, queue.pageFrame)
            return queue
        }
        receiveQueue = try setUpQueue(0)
        transmitQueue = try setUpQueue(1)
        transmitQueue.suppressInterrupts()
        receiving = Array(repeating: nil, count: receiveQueue.size)
        sending = Array(repeating: nil, count: transmitQueue.size)
        freeTransmit = Array((0..<transmitQueue.size).reversed())
        outb(io + Register.status, 7)  // driver ready

        for slot in 0..<min(VirtioNet.receiveDepth, receiveQueue.size) {
            guard let buffer = pool.take() else { break }
            post(buffer, at: slot)
        }
        notify(0)
    }

    var linkUp: Bool {
        guard hasStatus else { return true }
        return inw(io + Register.config + 6) & 1 != 0
    }

    private func post(_ buffer: PacketBuffer, at slot: Int) {
        receiving[slot] = buffer
        receiveQueue.setDescriptor(
            slot, address: DMAMemory.address(buffer.frameStart - VirtioNet.headerLength),
            length: PacketBuffer.maximumFrameLength + VirtioNet.headerLength, deviceWritable: true)
        receiveQueue.offer(slot)
    }

    private func notify(_ queue: UInt16) { outw(io + Register.queueNotify, queue) }

    func service() {
        _ = inb(io + Register.interruptStatus)  // reading acknowledges the interrupt
        while let done = transmitQueue.nextUsed() {
            if let buffer = sending[done.index] {
                pool.give(buffer)
                sending[done.index] = nil
                freeTransmit.append(done.index)
            }
        }
    }

    func receive() -> PacketBuffer? {
        while let done = receiveQueue.nextUsed() {
            guard done.index < receiving.count, let buffer = receiving[done.index] else {
                counters[.errors] += 1
                continue
            }
            let length = done.length - VirtioNet.headerLength
            guard length >= EthernetFrame.headerLength, length <= PacketBuffer.maximumFrameLength else {
                counters[.rxDropsBadFrame] += 1
                post(buffer, at: done.index)
                notify(0)
                continue
            }
            guard let replacement = pool.take() else {
                // Keep the ring full rather than hand out the last buffer.
                counters[.rxDropsNoBuffer] += 1
                post(buffer, at: done.index)
                notify(0)
                continue
            }
            post(replacement, at: done.index)
            notify(0)
            buffer.length = length
            counters[.rxPackets] += 1
            counters[.rxBytes] += UInt64(length)
            return buffer
        }
        return nil
    }

    func transmit(_ buffer: PacketBuffer) -> Bool {
        if freeTransmit.isEmpty { service() }
        guard let slot = freeTransmit.popLast() else {
            counters[.txDropsRingFull] += 1
            pool.give(buffer)
            return false
        }
        let header = buffer.frameStart - VirtioNet.headerLength
        header.initializeMemory(as: UInt8.self, repeating: 0, count: VirtioNet.headerLength)
        sending[slot] = buffer
        transmitQueue.setDescriptor(
            slot, address: DMAMemory.address(header), length: buffer.length + VirtioNet.headerLength,
            deviceWritable: false)
        transmitQueue.offer(slot)
        notify(1)
        counters[.txPackets] += 1
        counters[.txBytes] += UInt64(buffer.length)
        return true
    }
}
