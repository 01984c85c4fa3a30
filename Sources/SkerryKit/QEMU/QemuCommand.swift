import Foundation
import KernelCore

/// Which accelerator QEMU uses.
public enum Accelerator: String, CaseIterable, Sendable, Codable {
    /// KVM when a probe boot succeeds, TCG otherwise (with a note saying why).
    case auto
    case tcg
    case kvm
}

/// The QEMU command line for one appliance VM.
public struct QemuCommand {
    public var executable: String
    /// The kernel, ISO or disk the VM boots.
    public var medium: BootMedium
    /// The `-bios` file (OVMF for UEFI); nil boots QEMU's SeaBIOS.
    public var firmware: String?
    public var memoryMiB: Int = 128
    public var kernelArguments: String = ""
    public var accelerator: Accelerator = .tcg
    public var qmpSocket: String?
    /// The three NICs on user-mode networks; nil (and no `tap`) boots without NICs.
    public var networks: UserNetworks?
    /// The three NICs on taps in a namespace instead.
    public var tap: TapNetwork?
    public var extraArguments: [String] = []
    /// Where QEMU serves the serial port: its stdio, or a TCP port on 127.0.0.1.
    public var serialPort = SerialPort.stdio

    public static let defaultExecutable = "qemu-system-x86_64"

    public init(executable: String, medium: BootMedium) {
        self.executable = executable
        self.medium = medium
    }

    /// Boots an elf32 kernel through QEMU's `-kernel`.
    public init(executable: String, image: URL) {
        self.init(executable: executable, medium: .kernel(image))
    }

    public var arguments: [String] {
        var arguments = [
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-machine", "pc", "-m", String(memoryMiB),
            "-accel", accelerator == .kvm ? "kvm" : "tcg",
            "-device", "isa-debug-exit,iobase=0x\(String(KernelContract.debugExitPort, radix: 16)),iosize=0x04",
        ] + serialPort.arguments
        if let firmware { arguments += ["-bios", firmware] }
        arguments += medium.qemuArguments
        if !kernelArguments.isEmpty { arguments += ["-append", kernelArguments] }
        if let qmpSocket { arguments += ["-qmp", "unix:\(qmpSocket),server=on,wait=off"] }
        if let tap {
            arguments += tap.qemuArguments(model: networks?.model ?? .virtio, macs: networks ?? UserNetworks(model: .virtio, forwards: []))
        } else if let networks {
            arguments += networks.arguments
        }
        return arguments + extraArguments
    }

    /// Resolves the QEMU binary, with install advice when it is missing.
    public static func locateExecutable(_ requested: String?) throws(BootSetupError) -> String {
        let name = requested ?? ProcessInfo.processInfo.environment["SKERRY_QEMU"] ?? defaultExecutable
        guard let path = findExecutable(name) else {
            throw .qemuMissing(name)
        }
        return path
    }
}

/// How QEMU serves the serial console.
public enum SerialPort: Sendable, Equatable {
    /// On QEMU's stdin and stdout.
    case stdio
    /// A TCP server on 127.0.0.1:port, raw or telnet, taking one client at a time.
    case network(port: UInt16, telnet: Bool)

    var arguments: [String] {
        switch self {
        case .stdio:
            // signal=off so a ^C byte typed into the console is data, not a request to quit.
            return ["-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console"]
        case .network(let port, let telnet):
            // wait=off: the guest runs before a client connects (what it prints meanwhile is lost).
            return ["-chardev", "socket,id=console,host=127.0.0.1,port=\(port),server=on,wait=off\(telnet ? ",telnet=on" : "")",
                    "-serial", "chardev:console"]
        }
    }

    /// Where a client connects; nil for stdio.
    public var address: ConsoleAddress? {
        switch self {
        case .stdio: return nil
        case .network(let port, let telnet): return telnet ? .telnet(host: "127.0.0.1", port: port) : .tcp(host: "127.0.0.1", port: port)
        }
    }
}

/// Problems found before QEMU is started.
public enum BootSetupError: Error, CustomStringConvertible, Sendable {
    case qemuMissing(String)
    case imageMissing(String)
    /// The image cannot be booted as asked (`BootMedium.Problem`).
    case medium(BootMedium.Problem)
    /// An OVA that failed its checks: the package's path and why.
    case package(String, OVAError)
    /// An OVA that opened, but that skerry does not boot: its path and why.
    case unbootablePackage(String, String)
    /// The firmware `--firmware` asks for is not installed.
    case firmwareMissing(DebianTool.Missing)
    case badPattern(option: String, pattern: String, reason: String)
    case temporaryDirectory(String)
    case badForward(String, String)
    /// Two forwards of one guest port, each as the user wrote it (`PortForward.quoted`).
    case duplicateForward(String, String)
    /// The transport, the host port, and the `--forward` text that asked for it.
    case portInUse(String, UInt16, argument: String?)
    case tapUnavailable(String)
    /// The `--console` socket cannot be served.
    case console(String)

    public var description: String {
        switch self {
        case .qemuMissing(let name):
            return "\(name) not found on PATH: install it with `apt-get install qemu-system-x86` (or set SKERRY_QEMU)"
        case .imageMissing(let path):
            return path.hasSuffix(".elf32") || !path.contains(".")
                ? "no kernel image at \(path) (build one with `skerry build`)"
                : "no image at \(path) (make one with `skerry image`)"
        case .medium(let problem):
            return problem.description
        case .package(let path, let problem):
            return "cannot boot '\(path)': \(problem)"
        case .unbootablePackage(let path, let reason):
            return "cannot boot '\(path)': \(reason)"
        case .firmwareMissing(let missing):
            return "--firmware uefi needs OVMF: \(missing)"
        case .badPattern(let option, let pattern, let reason):
            return "\(option) '\(pattern)' is not a valid regular expression: \(reason)"
        case .temporaryDirectory(let reason):
            return "cannot create a temporary directory: \(reason)"
        case .tapUnavailable(let reason), .console(let reason):
            return reason
        case .badForward(let text, let reason):
            return "bad --forward '\(text)': \(reason)"
        case .duplicateForward(let first, let second):
            return "\(first) and \(second) forward the same guest port; give one"
        case .portInUse(let transport, let port, let argument):
            let quoted = argument.map { "--forward '\($0)': " } ?? ""
            return port == 0
                ? "no free \(transport) port on 127.0.0.1"
                : "\(quoted)127.0.0.1:\(port)/\(transport) is already in use; pick another host port or leave it out to get a free one"
        }
    }
}
