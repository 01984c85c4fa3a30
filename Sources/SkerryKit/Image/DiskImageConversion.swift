/// Converts the hybrid ISO, which is also a bootable disk, into the disk
/// formats hypervisors import, with qemu-img.
public struct DiskImageConversion: Sendable {
    public var qemuImg: String
    /// qemu-img's version: another version may write other bytes.
    public var fingerprint: String

    public static func locate(searchPath: String? = nil) throws(ImageError) -> DiskImageConversion {
        let path: String
        do {
            path = try DebianTool.qemuImg.locate(searchPath: searchPath)
        } catch {
            throw .missingTool(error)
        }
        return DiskImageConversion(qemuImg: path, fingerprint: ToolVersion.text(of: path))
    }

    /// `qemu-img`'s output format and options for `format`; nil when the ISO's own bytes are the image.
    public static func target(_ format: ImageFormat) -> [String]? {
        switch format {
        case .iso, .raw: return nil
        case .qcow2, .libvirt: return ["-O", "qcow2"]
        // The flavour an OVA carries, and ESXi imports.
        case .vmdk, .ova: return ["-O", "vmdk", "-o", "subformat=streamOptimized"]
        }
    }

    public func convert(iso: String, to output: String, format: ImageFormat) throws(ImageError) {
        guard let target = DiskImageConversion.target(format) else { return }
        try ToolRun.run("qemu-img convert", qemuImg, ["convert", "-f", "raw"] + target + [iso, output])
    }
}
