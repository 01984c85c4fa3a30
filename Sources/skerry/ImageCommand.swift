import ArgumentParser
import Foundation
import KernelCore
import SkerryKit

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Make a deployable image of an appliance: ISO, raw, qcow2, VMDK, OVA or libvirt domain.",
        discussion: """
            Builds the kernel as `skerry build` does (same validation, same cache), puts it under GRUB \
            on a hybrid ISO that boots under BIOS and UEFI, and converts that to the format asked for. \
            Prints each file written with its size and SHA-256. An unchanged tree comes from the cache \
            at once. Files are written whole or not at all.

            Formats: iso (hybrid ISO), raw (its bytes as a disk, .img), qcow2, vmdk (streamOptimized), \
            ova (vSphere), libvirt (a domain XML at -o and its qcow2 beside it, .qcow2 in place of .xml).

            """ + "\n" + ImageCommand.optionTable + "\n" + ExitStatuses.help(ExitStatuses.plain))

    /// Which formats each option changes, from `ImageOption`.
    static var optionTable: String {
        "Options by format (an option a format does not use is refused):\n"
            + ImageOption.allCases.map { option in
                "  " + option.flag.padding(toLength: 13, withPad: " ", startingAt: 0)
                    + (option.formats == ImageFormat.allCases ? "all formats" : option.formats.map(\.rawValue).joined(separator: ", "))
            }.joined(separator: "\n")
    }

    @Argument(help: ArgumentHelp(
        "The appliance: a directory holding appliance.conf (like Samples/web) or the file itself.", valueName: "appliance"))
    var appliance: String

    @Option(help: ArgumentHelp("The image format.", valueName: ImageFormat.allCases.map(\.rawValue).joined(separator: "|")))
    var format: ImageFormat

    @Option(name: [.customShort("o"), .customLong("output")],
            help: ArgumentHelp("The file to write (default: ./NAME.EXT, NAME the appliance's name).", valueName: "path"))
    var output: String?

    @Option(help: ArgumentHelp("Kernel command line GRUB passes, e.g. 'heartbeat=1000'. Words are split at spaces; quotes, backslashes and control bytes are refused.",
                               valueName: "args"))
    var append: String?

    @Option(help: ArgumentHelp("Guest memory in MiB (default: \(ImageOptions.defaultMemoryMiB)).", valueName: "MiB"))
    var memory: Int?

    @Option(help: ArgumentHelp("Firmware the VM boots with (default: bios).", valueName: "bios|uefi"))
    var firmware: String?

    @Option(name: .customLong("nic-model"),
            help: ArgumentHelp("NIC model of the three interfaces (default: virtio in a libvirt domain, vmxnet3 in an OVA).", valueName: "vmxnet3|virtio"))
    var nicModel: NICModel?

    @Option(help: ArgumentHelp("The libvirt domain's serial console: a pty, or a telnet server on 127.0.0.1:PORT (default: pty).", valueName: "pty|telnet:PORT"))
    var serial: String?

    func validate() throws {
        do {
            try options().validate()
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func options() throws(ImageError) -> ImageOptions {
        var firmware: Firmware?
        if let name = self.firmware {
            guard let parsed = Firmware(name: name) else { throw .invalidOption("--firmware: expected bios or uefi, not \(String(reflecting: name))") }
            firmware = parsed
        }
        return ImageOptions(format: format, grub: try GrubConfiguration(append: append ?? ""), memoryMiB: memory, firmware: firmware,
                            nicModel: nicModel, serial: try serial.map { text throws(ImageError) in try SerialPortSetting(parsing: text) })
    }

    func run() throws {
        let options = try options()
        let check = try ApplianceFile.check(appliance)
        let name = check.appliance.name
        let targetText = output ?? "./\(name).\(format.fileExtension)"
        let diskText = format == .libvirt ? Self.diskBeside(targetText) : nil
        for path in [targetText, diskText].compactMap({ $0 }) {
            if let problem = OutputFile.problem(path) { throw CLIError("cannot write \(path): \(problem); nothing was built") }
        }
        let target = URL(fileURLWithPath: targetText)
        let disk = diskText.map { URL(fileURLWithPath: $0) }

        _ = SignalTrap.install()
        let signalsBefore = SignalTrap.count
        let interrupted = { SignalTrap.count != signalsBefore }
        let started = Date()
        let kernel: KernelImage
        do {
            kernel = try KernelBuild.build(kernel: nil, output: nil, appliance: appliance, verbose: true)
        } catch {
            if interrupted() { throw CLIError("interrupted; nothing was written", status: .interrupted) }
            throw error
        }
        // Beside the kernel cache: .build/skerry/images.
        let cacheDirectory = kernel.bootable.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("images")
        var pipeline = ImagePipeline(cache: ImageCache(directory: cacheDirectory))
        pipeline.interrupted = interrupted
        pipeline.log = { FileHandle.standardError.write(Data("skerry: \($0)\n".utf8)) }
        do throws(ImageError) {
            let result = try pipeline.build(kernel: kernel, options: options, appliance: check.appliance)
            if interrupted() { throw .interrupted }
            var written: [(String, ImageArtefact)] = []
            if let disk {
                try ImagePlacement.place(result.artefact.file, at: disk)
                written.append((diskText ?? disk.path, result.artefact))
                let domain = LibvirtDomain(
                    name: name, memoryMiB: options.memoryMiB ?? ImageOptions.defaultMemoryMiB, firmware: options.firmware ?? .bios,
                    nicModel: options.nicModel ?? .virtio, serial: options.serial ?? .pty, diskPath: disk.standardizedFileURL.path,
                    macs: check.appliance.pinnedMACs)
                let xml = Data(domain.xml.utf8)
                do {
                    try ImagePlacement.place(xml, at: target)
                } catch {
                    try? FileManager.default.removeItem(at: disk)
                    throw error
                }
                written.insert((targetText, ImageArtefact(file: target, sha256: SHA256.hex(xml))), at: 0)
            } else {
                try ImagePlacement.place(result.artefact.file, at: target)
                written.append((targetText, result.artefact))
            }
            let state = result.fromCache ? "from the cache" : String(format: "built in %.1f s", Date().timeIntervalSince(started))
            FileHandle.standardError.write(Data("skerry: \(format.rawValue) image \(state)\n".utf8))
            for (path, artefact) in written {
                let size = ImageArtefact(file: URL(fileURLWithPath: path), sha256: artefact.sha256).size
                print("\(path)  \(Format.bytes(Double(size))) (\(size) bytes)  sha256 \(artefact.sha256)")
            }
        } catch {
            if interrupted() || error == .interrupted { throw CLIError("interrupted; nothing was written", status: .interrupted) }
            throw CLIError("\(error)", status: error.isUsage ? .usage : .failure)
        }
    }

    /// The qcow2 beside a libvirt domain's XML: `.qcow2` in place of `.xml`, or added.
    static func diskBeside(_ xml: String) -> String {
        (xml.hasSuffix(".xml") ? String(xml.dropLast(4)) : xml) + ".qcow2"
    }
}

extension ImageFormat: ExpressibleByArgument {}
