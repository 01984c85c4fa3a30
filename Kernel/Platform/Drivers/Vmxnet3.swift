/// VMware's paravirtual NIC, as ESXi presents it and QEMU emulates it: one
/// transmit queue and one receive queue, polled from the event loop, with
/// the legacy interrupt left on only to wake it.
///
/// Ring sizes are multiples of 32 and rings 512-byte aligned, as ESXi
/// requires even though QEMU does not check.
final class Vmxnet3: NetworkDevice {
    let model: StaticString = "vmxnet3"
    let macAddress: MACAddress
    private(set) var counters = DeviceCounters()
    private let pool: PacketPool
    private let bar0: UInt
    private let bar1: UInt

    static let transmitRingSize = 256
    static let receiveRingSize = 256
    /// The body-only ring; unused (every frame fits one buffer) but ESXi wants it sized.
    static let receiveRing2Size = 32
    static let descriptorSize = 16
    static let dataRingEntrySize = 128

    private let shared: UnsafeMutableRawPointer
    private let queueDescriptors: UnsafeMutableRawPointer
    private let transmitRing: UnsafeMutableRawPointer
    private let transmitCompletions: UnsafeMutableRawPointer
    private let receiveRing: UnsafeMutableRawPointer
    private let receiveCompletions: UnsafeMutableRawPointer

    private var transmitNext = 0
    private var transmitGeneration: UInt32 = 1
    private var transmitCompletionNext = 0
    private var transmitCompletionGeneration: UInt32 = 1
    private var transmitInFlight = 0
    private var sending: [PacketBuffer?]

    private var receiveCompletionNext = 0
    private var receiveCompletionGeneration: UInt32 = 1
    private var receiving: [PacketBuffer?]
    private var receiveSlotGeneration: [UInt32]

    private enum Command {
        static let activate: UInt32 = 0xCAFE_0000
        static let reset: UInt32 = 0xCAFE_0002
        static let getLink: UInt32 = 0xF00D_0002
    }

    private enum Register {
        static let revision: UInt = 0x00  // BAR1
        static let uptVersion: UInt = 0x08
        static let sharedLow: UInt = 0x10
        static let sharedHigh: UInt = 0x18
        static let command: UInt = 0x20
        static let macLow: UInt = 0x28
        static let macHigh: UInt = 0x30
        static let interruptCause: UInt = 0x38
        static let interruptMask: UInt = 0x000  // BAR0, one per vector
        static let transmitProducer: UInt = 0x600
        static let receiveProducer: UInt = 0x800
    }

    init(device: PCIDevice, pool: PacketPool) throws(DriverError) {
        guard let bar0 = device.bar(0).memoryAddress, let bar1 = device.bar(1).memoryAddress else {
            throw .noMemoryBar
        }
        self.bar0 = bar0
        self.bar1 = bar1
        self.pool = pool
        device.enable()

        guard mmioRead32(bar1 + Register.revision) & 1 != 0, mmioRead32(bar1 + Register.uptVersion) & 1 != 0 else {
            throw .unsupportedRevision
        }
        mmioWrite32(bar1 + Register.revision, 1)
        mmioWrite32(bar1 + Register.uptVersion, 1)
        mmioWrite32(bar1 + Register.command, Command.reset)

        let low = UInt64(mmioRead32(bar1 + Register.macLow))
        let high = UInt64(mmioRead32(bar1 + Register.macHigh))
        var mac: UInt64 = 0
        for index in 0..<4 { mac = mac << 8 | (low >> UInt64(8 * index)) & 0xFF }
        for index in 0..<2 { mac = mac << 8 | (high >> UInt64(8 * index)) & 0xFF }
        macAddress = MACAddress(value: mac)

        let ring = Vmxnet3.descriptorSize
        shared = DMAMemory.allocate(1024, alignment: 512)
        queueDescriptors = DMAMemory.allocate(512, alignment: 512)
        transmitRing = DMAMemory.allocate(Vmxnet3.transmitRingSize * ring, alignment: 512)
        let dataRing = DMAMemory.allocate(Vmxnet3.transmitRingSize * Vmxnet3.dataRingEntrySize, alignment: 512)
        transmitCompletions = DMAMemory.allocate(Vmxnet3.transmitRingSize * ring, alignment: 512)
        receiveRing = DMAMemory.allocate(Vmxnet3.receiveRingSize * ring, alignment: 512)
        let receiveRing2 = DMAMemory.allocate(Vmxnet3.receiveRing2Size * ring, alignment: 512)
        let receiveCompletionCount = Vmxnet3.receiveRingSize + Vmxnet3.receiveRing2Size
        receiveCompletions = DMAMemory.allocate(receiveCompletionCount * ring, alignment: 512)
        sending = Array(repeating: nil, count: Vmxnet3.transmitRingSize)
        receiving = Array(repeating: nil, count: Vmxnet3.receiveRingSize)
        receiveSlotGeneration = Array(repeating: 1, count: Vmxnet3.receiveRingSize)

        // Driver-shared area (Vmxnet3_DriverShared).
        shared.storeBytes(of: 0xBABE_FEE1 as UInt32, as: UInt32.self)
        shared.storeBytes(of: 1 as UInt32, toByteOffset: 8, as: UInt32.self)  // driver version
        shared.storeBytes(of: 2 | 1 << 2 as UInt32, toByteOffset: 12, as: UInt32.self)  // 64-bit, Linux-like guest
        shared.storeBytes(of: 1 as UInt32, toByteOffset: 16, as: UInt32.self)  // vmxnet3 revision
        shared.storeBytes(of: 1 as UInt32, toByteOffset: 20, as: UInt32.self)  // UPT version
        shared.storeBytes(of: DMAMemory.address(queueDescriptors), toByteOffset: 40, as: UInt64.self)
        shared.storeBytes(of: 512 as UInt32, toByteOffset: 52, as: UInt32.self)
        shared.storeBytes(of: 1500 as UInt32, toByteOffset: 56, as: UInt32.self)  // MTU
        shared.storeBytes(of: 1 as UInt16, toByteOffset: 60, as: UInt16.self)  // one buffer per frame
        shared.storeBytes(of: 1 as UInt8, toByteOffset: 62, as: UInt8.self)  // transmit queues
        shared.storeBytes(of: 1 as UInt8, toByteOffset: 63, as: UInt8.self)  // receive queues
        shared.storeBytes(of: 1 as UInt8, toByteOffset: 81, as: UInt8.self)  // interrupts
        shared.storeBytes(of: 0 as UInt8, toByteOffset: 82, as: UInt8.self)  // event interrupt: INTA
        shared.storeBytes(of: 0x5 as UInt32, toByteOffset: 120, as: UInt32.self)  // unicast | broadcast

        // Transmit queue descriptor.
        let tx = queueDescriptors
        tx.storeBytes(of: DMAMemory.address(transmitRing), toByteOffset: 16, as: UInt64.self)
        tx.storeBytes(of: DMAMemory.address(dataRing), toByteOffset: 24, as: UInt64.self)
        tx.storeBytes(of: DMAMemory.address(transmitCompletions), toByteOffset: 32, as: UInt64.self)
        tx.storeBytes(of: UInt32(Vmxnet3.transmitRingSize), toByteOffset: 56, as: UInt32.self)
        tx.storeBytes(of: UInt32(Vmxnet3.transmitRingSize), toByteOffset: 60, as: UInt32.self)
        tx.storeBytes(of: UInt32(Vmxnet3.transmitRingSize), toByteOffset: 64, as: UInt32.self)
        tx.storeBytes(of: UInt16(Vmxnet3.dataRingEntrySize), toByteOffset: 74, as: UInt16.self)

        // Receive queue descriptor.
        let rx = queueDescriptors + 256
        rx.storeBytes(of: DMAMemory.address(receiveRing), toByteOffset: 16, as: UInt64.self)
        rx.storeBytes(of: DMAMemory.address(receiveRing2), toByteOffset: 24, as: UInt64.self)
        rx.storeBytes(of: DMAMemory.address(receiveCompletions), toByteOffset: 32, as: UInt64.self)
        rx.storeBytes(of: UInt32(Vmxnet3.receiveRingSize), toByteOffset: 56, as: UInt32.self)
        rx.storeBytes(of: UInt32(Vmxnet3.receiveRing2Size), toByteOffset: 60, as: UInt32.self)
        rx.storeBytes(of: UInt32(receiveCompletionCount), toByteOffset: 64, as: UInt32.self)

        for slot in 0..<Vmxnet3.receiveRingSize {
            guard let buffer = pool.take() else { break }
            receiving[slot] = buffer
            writeReceiveDescriptor(slot, buffer: buffer)
        }

        memoryBarrier()
        let address = DMAMemory.address(shared)
        mmioWrite32(bar1 + Register.sharedLow, UInt32(truncatingIfNeeded: address))
        mmioWrite32(bar1 + Register.sharedHigh, UInt32(truncatingIfNeeded: address >> 32))
        mmioWrite32(bar1 + Register.command, Command.activate)
        let status = mmioRead32(bar1 + Register.command)
        guard status == 0 else { throw .activationFailed(status) }
        mmioWrite32(bar0 + Register.receiveProducer, 0)
        mmioWrite32(bar0 + Register.interruptMask, 0)  // unmask vector 0: receive wakes the CPU
    }

    var linkUp: Bool {
        mmioWrite32(bar1 + Register.command, Command.getLink)
        return mmioRead32(bar1 + Register.command) & 1 != 0
    }

    /// Address first, then the word holding the generation bit, so the
    /// device never sees a live descriptor with a stale address.
    private func writeReceiveDescriptor(_ slot: Int, buffer: PacketBuffer) {
        let descriptor = receiveRing + slot * Vmxnet3.descriptorSize
        descriptor.storeBytes(of: DMAMemory.address(buffer.frameStart), as: UInt64.self)
        descriptor.storeBytes(of: 0, toByteOffset: 12, as: UInt32.self)
        memoryBarrier()
        let word = UInt32(PacketBuffer.maximumFrameLength) | receiveSlotGeneration[slot] << 31  // head buffer
        mmioWrite32(UInt(bitPattern: descriptor + 8), word)
    }

    func service() {
        _ = mmioRead32(bar1 + Register.interruptCause)  // reading deasserts the legacy interrupt
        while true {
            let completion = transmitCompletions + transmitCompletionNext * Vmxnet3.descriptorSize
            let word3 = mmioRead32(UInt(bitPattern: completion + 12))
            guard word3 >> 31 == transmitCompletionGeneration else { break }
            let index = Int(mmioRead32(UInt(bitPattern: completion)) & 0xFFF)
            if index < sending.count, let buffer = sending[index] {
                pool.give(buffer)
                sending[index] = nil
                transmitInFlight -= 1
            } else {
                counters[.errors] += 1
            }
            transmitCompletionNext += 1
            if transmitCompletionNext == Vmxnet3.transmitRingSize {
                transmitCompletionNext = 0
                transmitCompletionGeneration ^= 1
            }
        }
    }

    func receive() -> PacketBuffer? {
        while true {
            let completion = receiveCompletions + receiveCompletionNext * Vmxnet3.descriptorSize
            let word3 = mmioRead32(UInt(bitPattern: completion + 12))
            guard word3 >> 31 == receiveCompletionGeneration else { return nil }
            let word0 = mmioRead32(UInt(bitPattern: completion))
            let word2 = mmioRead32(UInt(bitPattern: completion + 8))
            receiveCompletionNext += 1
            if receiveCompletionNext == Vmxnet3.receiveRingSize + Vmxnet3.receiveRing2Size {
                receiveCompletionNext = 0
                receiveCompletionGeneration ^= 1
            }
            let slot = Int(word0 & 0xFFF)
            let ringID = (word0 >> 16) & 0x3FF
            guard ringID == 0, slot < receiving.count, let buffer = receiving[slot] else {
                counters[.errors] += 1
                continue
            }
            let length = Int(word2 & 0x3FFF)
            let complete = word0 & (1 << 14) != 0 && word0 & (1 << 15) != 0  // end and start of packet
            let error = word2 & (1 << 14) != 0
            receiveSlotGeneration[slot] ^= 1
            guard complete, !error, length >= EthernetFrame.headerLength, length <= PacketBuffer.maximumFrameLength else {
                counters[.rxDropsBadFrame] += 1
                repost(slot, buffer)
                continue
            }
            guard let replacement = pool.take() else {
                counters[.rxDropsNoBuffer] += 1
                repost(slot, buffer)
                continue
            }
            repost(slot, replacement)
            buffer.length = length
            counters[.rxPackets] += 1
            counters[.rxBytes] += UInt64(length)
            return buffer
        }
    }

    private func repost(_ slot: Int, _ buffer: PacketBuffer) {
        receiving[slot] = buffer
        writeReceiveDescriptor(slot, buffer: buffer)
        mmioWrite32(bar0 + Register.receiveProducer, UInt32((slot + 1) % Vmxnet3.receiveRingSize))
    }

    func transmit(_ buffer: PacketBuffer) -> Bool {
        if transmitInFlight >= Vmxnet3.transmitRingSize - 1 { service() }
        guard transmitInFlight < Vmxnet3.transmitRingSize - 1, sending[transmitNext] == nil else {
            counters[.txDropsRingFull] += 1
            pool.give(buffer)
            return false
        }
        let slot = transmitNext
        let descriptor = transmitRing + slot * Vmxnet3.descriptorSize
        sending[slot] = buffer
        transmitInFlight += 1
        descriptor.storeBytes(of: DMAMemory.address(buffer.frameStart), as: UInt64.self)
        descriptor.storeBytes(of: 1 << 12 | 1 << 13 as UInt32, toByteOffset: 12, as: UInt32.self)  // end of packet, completion
        memoryBarrier()
        mmioWrite32(UInt(bitPattern: descriptor + 8), UInt32(buffer.length) | transmitGeneration << 14)
        transmitNext += 1
        if transmitNext == Vmxnet3.transmitRingSize {
            transmitNext = 0
            transmitGeneration ^= 1
        }
        mmioWrite32(bar0 + Register.transmitProducer, UInt32(transmitNext))
        counters[.txPackets] += 1
        counters[.txBytes] += UInt64(buffer.length)
        return true
    }
}
