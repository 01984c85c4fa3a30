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
        guard let header = SparseExtentHeader(file: disk.file) else { throw .io("\(disk.file.path) is not a sparse VMDK extent") }
        let capacity = header.capacitySectors * 512
        do {
            try OVAPackage.write(descriptor: descriptor(appliance: appliance, diskCapacity: capacity, options: options),
                                 disk: disk.file, to: output)
        } catch {
            throw .io("cannot write the OVA: \(error)")
        }
    }
}
