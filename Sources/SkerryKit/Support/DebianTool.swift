import Foundation

/// A program or file that one of Debian's packages provides, found where
/// that package puts it, or refused with the package to install.
public struct DebianTool: Sendable, Equatable {
    /// The executable's name on PATH, or the file's name.
    public var name: String
    public var package: String
    /// Absolute paths to try, for files that are not executables on PATH (firmware).
    public var candidates: [String]

    public init(_ name: String, package: String, candidates: [String] = []) {
        self.name = name
        self.package = package
        self.candidates = candidates
    }

    /// Why the tool cannot be used.
    public struct Missing: Error, Sendable, Equatable, CustomStringConvertible {
        public var tool: DebianTool
        public var description: String {
            "\(tool.name) not found: install it with `apt-get install \(tool.package)` (scripts/setup installs it)"
        }
    }

    /// The tool's path. `searchPath` replaces PATH (tests use it to hide a tool).
    public func locate(searchPath: String? = nil) throws(Missing) -> String {
        if !candidates.isEmpty {
            if let found = candidates.first(where: { FileManager.default.isReadableFile(atPath: $0) }) { return found }
            throw Missing(tool: self)
        }
        guard let path = findExecutable(name, searchPath: searchPath) else { throw Missing(tool: self) }
        return path
    }

    public static let grubMkrescue = DebianTool("grub-mkrescue", package: "grub-pc-bin")
    /// grub-mkrescue's BIOS modules, without which it writes an ISO that only UEFI boots.
    public static let grubBIOSModules = DebianTool("GRUB's i386-pc modules", package: "grub-pc-bin",
                                                   candidates: ["/usr/lib/grub/i386-pc/multiboot.mod"])
    public static let grubEFIModules = DebianTool("GRUB's x86_64-efi modules", package: "grub-efi-amd64-bin",
                                                  candidates: ["/usr/lib/grub/x86_64-efi/multiboot.mod"])
    public static let xorriso = DebianTool("xorriso", package: "xorriso")
    /// mformat, which grub-mkrescue uses to make the EFI system partition.
    public static let mformat = DebianTool("mformat", package: "mtools")
    public static let qemuImg = DebianTool("qemu-img", package: "qemu-utils")
    public static let ovmf = DebianTool("OVMF firmware", package: "ovmf",
                                        candidates: ["/usr/share/ovmf/OVMF.fd", "/usr/share/OVMF/OVMF.fd"])
    public static let virtXMLValidate = DebianTool("virt-xml-validate", package: "libvirt-clients")
    /// The XML checker virt-xml-validate runs, which libvirt-clients does not pull in.
    public static let xmllint = DebianTool("xmllint", package: "libxml2-utils")
}
