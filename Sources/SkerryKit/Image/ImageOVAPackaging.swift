import Foundation
import KernelCore

/// The one place `skerry image --format ova` packs its OVA: the OVF
/// descriptor (networks admin, public, private in role order, with the MACs
/// the appliance pins; memory, firmware and NIC model from `options`), the
/// manifest and the streamOptimized VMDK `disk`, written as a tar to `output`.
public enum ImageOVAPackaging {
    /// Part of the OVA's cache key: change it when the package's bytes change.
    public static let version = "ova-1"

    public static func descriptor(appliance: ApplianceDescription, diskCapacity: UInt64, options: ImageOptions) -> OVFDescriptor {
        let macs = appliance.pinnedMACs
        return OVFDescriptor(
            name: appliance.name,
            memoryMiB: options.memoryMiB ?? OVFDescriptor.defaultMemoryMiB,
            nicModel: options.nicModel ?? .vmxnet3,
            firmware: options.firmware ?? .bios,
            interfaces: OVFInterface.standard.map { OVFInterface(role: $0.role, network: $0.network, mac: macs[$0.role]) },
            disk: OVFDisk(fileName: "\(appliance.name)-disk1.vmdk", capacityBytes: diskCapacity))
    }

    public static func package(appliance: ApplianceDescription, disk: ImageArtefact, options: ImageOptions, to output: URL)
        throws(ImageError)
    {
        let capacity = try VMDKHeader.capacityBytes(of: disk.file)
        do {
            try OVAPackage.write(descriptor: descriptor(appliance: appliance, diskCapacity: capacity, options: options),
                                 disk: disk.file, to: output)
        } catch {
            throw .io("cannot write the OVA: \(error)")
        }
    }
}

/// The first bytes of a sparse (monolithicSparse or streamOptimized) VMDK
/// extent: the disk's virtual capacity is the OVF DiskSection's capacity.
enum VMDKHeader {
    static func capacityBytes(of file: URL) throws(ImageError) -> UInt64 {
        guard let handle = FileHandle(forReadingAtPath: file.path) else { throw .io("cannot read \(file.path)") }
        defer { try? handle.close() }
        let header = [UInt8]((try? handle.read(upToCount: 20)) ?? Data())
        // "KDMV", version, flags, then the capacity in 512-byte sectors.
        guard header.count == 20, header[0..<4] == [0x4B, 0x44, 0x4D, 0x56] else {
            throw .io("\(file.path) is not a sparse VMDK extent")
        }
        let sectors = header[12..<20].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return sectors * 512
    }
}
