import Foundation

/// What a VM boots from, told by the path's extension.
///
/// A boot never changes the user's artefact: an ISO is a read-only CD-ROM,
/// and a disk is attached with `snapshot=on`, so QEMU opens the file
/// read-only and sends any write to a temporary overlay it deletes on exit.
/// (`readonly=on` is not an option for a disk: QEMU's IDE hard disk refuses
/// a read-only drive, and IDE is the controller both firmwares boot.)
public enum BootMedium: Equatable, Sendable {
    /// An elf32 Multiboot kernel (`skerry build`), loaded by QEMU's `-kernel`.
    case kernel(URL)
    /// A hybrid ISO (`skerry image --format iso`), booted as a CD-ROM.
    case cdrom(URL)
    /// A disk image, booted as the first IDE disk.
    case disk(URL, format: DiskFormat)
    /// An OVA: `BootSession` checks it against its manifest, reads its
    /// descriptor and boots the disk it extracts (`OVABoot`).
    case package(URL)

    /// The disk image formats QEMU reads, by their `format=` name.
    public enum DiskFormat: String, CaseIterable, Sendable {
        case raw, qcow2, vmdk
    }

    /// Each extension skerry boots, and the medium it names.
    static let byExtension: [(name: String, medium: @Sendable (URL) -> BootMedium)] = [
        ("elf32", { .kernel($0) }),
        ("iso", { .cdrom($0) }),
        ("img", { .disk($0, format: .raw) }),
        ("raw", { .disk($0, format: .raw) }),
        ("qcow2", { .disk($0, format: .qcow2) }),
        ("vmdk", { .disk($0, format: .vmdk) }),
    ]

    /// The extensions skerry boots, as the error for any other lists them.
    public static var acceptedExtensions: [String] { byExtension.map { "." + $0.name } + [".ova"] }

    /// Why a path or a combination of options cannot be booted.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case unknownExtension(String)
        /// `--firmware uefi` with a bare kernel: OVMF boots media, not `-kernel`.
        case uefiNeedsImage
        /// `--append` with an image: its arguments are in its grub.cfg.
        case appendToImage(String)

        public var description: String {
            switch self {
            case .unknownExtension(let path):
                return "cannot boot '\(path)': skerry boots "
                    + BootMedium.acceptedExtensions.joined(separator: ", ")
                    + " (a kernel from `skerry build`, an ISO, a disk image or an OVA from `skerry image`) or an appliance directory"
            case .uefiNeedsImage:
                return "UEFI boots an ISO or a disk image; make one with `skerry image`"
            case .appendToImage(let path):
                return "--append applies to a kernel (.elf32); the arguments of '\(path)' are in its grub.cfg: set them with `skerry image --append`"
            }
        }
    }

    /// The medium `path`'s extension names (case-insensitive).
    public init(path: String) throws(Problem) {
        let url = URL(fileURLWithPath: path)
        let suffix = url.pathExtension.lowercased()
        if suffix == "ova" {
            self = .package(url)
            return
        }
        guard let entry = BootMedium.byExtension.first(where: { $0.name == suffix }) else {
            throw .unknownExtension(path)
        }
        self = entry.medium(url)
    }

    public var url: URL {
        switch self {
        case .kernel(let url), .cdrom(let url), .disk(let url, _), .package(let url): return url
        }
    }

    /// An ISO or a disk: booted by firmware and GRUB rather than QEMU's loader.
    public var isImage: Bool {
        if case .kernel = self { return false }
        return true
    }

    /// Refuses what this medium cannot do: UEFI needs an image, and an image takes no `--append`.
    public func check(firmware: Firmware, kernelArguments: String) throws(Problem) {
        if firmware == .uefi && !isImage { throw .uefiNeedsImage }
        if isImage && !kernelArguments.isEmpty { throw .appendToImage(url.path) }
    }

    /// QEMU's arguments that attach the medium.
    public var qemuArguments: [String] {
        switch self {
        case .kernel(let url):
            return ["-kernel", url.path]
        case .cdrom(let url):
            return ["-drive", "file=\(BootMedium.escaped(url.path)),media=cdrom,if=ide,readonly=on"]
        case .disk(let url, let format):
            return ["-drive", "file=\(BootMedium.escaped(url.path)),format=\(format.rawValue),if=ide,snapshot=on"]
        case .package:
            preconditionFailure("an OVA is booted as the disk BootSession extracts from it")
        }
    }

    /// A value inside QEMU's comma-separated options: a comma is doubled.
    static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: ",", with: ",,")
    }
}
