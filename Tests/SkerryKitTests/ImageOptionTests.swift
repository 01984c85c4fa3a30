import Foundation
import Testing
@testable import SkerryKit

/// Which options each image format takes; an option a format would ignore is refused.
@Suite struct ImageOptionTests {
    static func options(_ format: ImageFormat, append: String = "", memory: Int? = nil, firmware: Firmware? = nil,
                        nicModel: NICModel? = nil, serial: SerialPortSetting? = nil) throws -> ImageOptions {
        ImageOptions(format: format, grub: try GrubConfiguration(append: append), memoryMiB: memory, firmware: firmware,
                     nicModel: nicModel, serial: serial)
    }

    @Test func diskFormatsTakeOnlyTheBootArguments() throws {
        for format in [ImageFormat.iso, .raw, .qcow2, .vmdk] {
            try Self.options(format, append: "heartbeat=1000").validate()
            let refused: [(ImageOptions, String)] = [
                (try Self.options(format, memory: 256), "--memory"), (try Self.options(format, firmware: .uefi), "--firmware"),
                (try Self.options(format, nicModel: .vmxnet3), "--nic-model"), (try Self.options(format, serial: .pty), "--serial"),
            ]
            for (options, flag) in refused {
                #expect(throws: ImageError.optionNotUsed(option: flag, format: format)) { try options.validate() }
                do { try options.validate() } catch {
                    #expect(error.isUsage)
                    let users = flag == "--serial" ? "libvirt" : "ova, libvirt"
                    #expect(error.description == "\(flag) does not apply to --format \(format.rawValue) (it is used by: \(users))")
                }
            }
        }
    }

    @Test func vmFormatsTakeTheirOptions() throws {
        try Self.options(.libvirt, append: "heartbeat=1000", memory: 256, firmware: .uefi, nicModel: .vmxnet3, serial: .telnet(port: 4555))
            .validate()
        try Self.options(.ova, append: "heartbeat=1000", memory: 256, firmware: .uefi, nicModel: .vmxnet3).validate()
        // An OVA's serial port gets its backing on the vSphere host, after import.
        #expect(throws: ImageError.optionNotUsed(option: "--serial", format: .ova)) {
            try Self.options(.ova, serial: .telnet(port: 4555)).validate()
        }
    }

    @Test func memoryOutsideItsRangeIsRefused() throws {
        for memory in [0, 15, 3073, -1] {
            #expect(throws: ImageError.self) { try Self.options(.libvirt, memory: memory).validate() }
        }
        for memory in [16, 128, 3072] { try Self.options(.libvirt, memory: memory).validate() }
    }

    @Test func serialIsAPtyOrATelnetPort() throws {
        #expect(try SerialPortSetting(parsing: "pty") == .pty)
        #expect(try SerialPortSetting(parsing: "telnet:4555") == .telnet(port: 4555))
        #expect(try SerialPortSetting(parsing: "telnet:65535") == .telnet(port: 65535))
        for bad in ["", "telnet", "telnet:", "telnet:0", "telnet:65536", "telnet:-1", "telnet:12x", "tcp:4555", "PTY", "telnet::4555"] {
            #expect(throws: ImageError.self, "\(bad)") { try SerialPortSetting(parsing: bad) }
        }
        #expect(throws: ImageError.invalidOption(
            "--serial: expected pty or telnet:PORT (PORT 1-65535), not \"tcp:4555\" (the domain's TCP serial speaks telnet: write telnet:PORT)")) {
            try SerialPortSetting(parsing: "tcp:4555")
        }
    }
}
