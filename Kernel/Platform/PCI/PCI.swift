/// PCI configuration space through the legacy 0xCF8/0xCFC ports.
struct PCIAddress: Equatable {
    var bus: UInt8
    var device: UInt8
    var function: UInt8

    private func selector(_ offset: UInt8) -> UInt32 {
        0x8000_0000 | UInt32(bus) << 16 | UInt32(device) << 11 | UInt32(function) << 8 | UInt32(offset & 0xFC)
    }

    func read32(_ offset: UInt8) -> UInt32 {
        outl(0xCF8, selector(offset))
        return inl(0xCFC)
    }

    func write32(_ offset: UInt8, _ value: UInt32) {
        outl(0xCF8, selector(offset))
        outl(0xCFC, value)
    }

    func read16(_ offset: UInt8) -> UInt16 {
        UInt16(truncatingIfNeeded: read32(offset) >> (UInt32(offset & 2) * 8))
    }

    func read8(_ offset: UInt8) -> UInt8 {
        UInt8(truncatingIfNeeded: read32(offset) >> (UInt32(offset & 3) * 8))
    }

    func write16(_ offset: UInt8, _ value: UInt16) {
        let shift = UInt32(offset & 2) * 8
        let word = read32(offset) & ~(0xFFFF << shift) | UInt32(value) << shift
        write32(offset, word)
    }
}

/// A base address register, decoded.
enum PCIBar {
    case io(port: UInt16)
    case memory(address: UInt64)
    case none

    var memoryAddress: UInt? {
        if case .memory(let address) = self { return UInt(address) }
        return nil
    }

    var port: UInt16? {
        if case .io(let port) = self { return port }
        return nil
    }
}

/// A function found on the bus.
struct PCIDevice {
    let address: PCIAddress
    let vendor: UInt16
    let deviceID: UInt16
    let classCode: UInt8
    let subclass: UInt8
    let revision: UInt8
    let interruptLine: UInt8

    static let commandIO: UInt16 = 1 << 0
    static let commandMemory: UInt16 = 1 << 1
    static let commandBusMaster: UInt16 = 1 << 2

    func bar(_ index: Int) -> PCIBar {
        let offset = UInt8(0x10 + index * 4)
        let low = address.read32(offset)
        if low & 1 != 0 { return .io(port: UInt16(truncatingIfNeeded: low & 0xFFFC)) }
        let kind = (low >> 1) & 3
        var base = UInt64(low & 0xFFFF_FFF0)
        if kind == 2 { base |= UInt64(address.read32(offset + 4)) << 32 }
        return base == 0 ? .none : .memory(address: base)
    }

    /// Lets the device decode its BARs and master the bus (SeaBIOS leaves DMA off).
    func enable() {
        let command = address.read16(0x04)
        address.write16(0x04, command | PCIDevice.commandIO | PCIDevice.commandMemory | PCIDevice.commandBusMaster)
    }
}

enum PCI {
    /// Every function reachable from bus 0, following PCI-to-PCI bridges to
    /// their secondary buses, in bus order.
    static func enumerate() -> [PCIDevice] {
        var found: [PCIDevice] = []
        var buses: [UInt8] = [0]
        var scanned: [UInt8] = []
        while let bus = buses.first {
            buses.removeFirst()
            guard !scanned.contains(bus) else { continue }
            scanned.append(bus)
            for device in 0..<32 {
                for function in 0..<8 {
                    let address = PCIAddress(bus: bus, device: UInt8(device), function: UInt8(function))
                    let id = address.read32(0)
                    if id & 0xFFFF == 0xFFFF {
                        if function == 0 { break }
                        continue
                    }
                    let classWord = address.read32(0x08)
                    let pci = PCIDevice(
                        address: address, vendor: UInt16(truncatingIfNeeded: id), deviceID: UInt16(truncatingIfNeeded: id >> 16),
                        classCode: UInt8(truncatingIfNeeded: classWord >> 24), subclass: UInt8(truncatingIfNeeded: classWord >> 16),
                        revision: UInt8(truncatingIfNeeded: classWord), interruptLine: address.read8(0x3C))
                    found.append(pci)
                    if pci.classCode == 0x06 && pci.subclass == 0x04 {
                        let secondary = address.read8(0x19)
                        if secondary != 0 { buses.append(secondary) }
                    }
                    // Single-function devices answer on every function number; check the header type.
                    if function == 0 && address.read8(0x0E) & 0x80 == 0 { break }
                }
            }
        }
        return found
    }

    static func writeDevice(_ device: PCIDevice) {
        console.write("pci: ")
        console.write(hex: UInt64(device.address.bus), digits: 2, prefix: false)
        console.write(":")
        console.write(hex: UInt64(device.address.device), digits: 2, prefix: false)
        console.write(".")
        console.write(decimal: UInt64(device.address.function))
        console.write(" ")
        console.write(hex: UInt64(device.vendor), digits: 4, prefix: false)
        console.write(":")
        console.write(hex: UInt64(device.deviceID), digits: 4, prefix: false)
        console.write(" class ")
        console.write(hex: UInt64(device.classCode), digits: 2, prefix: false)
        console.write(hex: UInt64(device.subclass), digits: 2, prefix: false)
        console.write(" ")
        console.write(describe(device))
        if device.interruptLine != 0 && device.interruptLine != 0xFF {
            console.write(" irq ")
            console.write(decimal: UInt64(device.interruptLine))
        }
        console.newline()
    }

    static func describe(_ device: PCIDevice) -> StaticString {
        switch (device.vendor, device.deviceID) {
        case (0x1AF4, 0x1000): return "virtio-net (legacy)"
        case (0x15AD, 0x07B0): return "vmxnet3"
        case (0x8086, 0x100E): return "e1000 (unsupported)"
        case (0x8086, 0x1237): return "host bridge"
        case (0x8086, 0x7000): return "ISA bridge"
        case (0x8086, 0x7010): return "IDE controller"
        case (0x8086, 0x7113): return "ACPI/power management"
        default:
            switch device.classCode {
            case 0x02: return "network controller"
            case 0x03: return "display controller"
            case 0x06: return "bridge"
            default: return "device"
            }
        }
    }
}
