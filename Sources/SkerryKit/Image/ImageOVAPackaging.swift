import Foundation

/// The one place `skerry image --format ova` packs its OVA: the OVF
/// descriptor (networks admin, public, private in role order; memory,
/// firmware, NIC model and serial port from `options`), the manifest and
/// the streamOptimized VMDK `disk`, written as a tar to `output`.
///
/// The OVF/OVA library (`OVAPackage.write(descriptor:disk:to:)`) is joined
/// in here when the branches merge; until then the format is refused.
public enum ImageOVAPackaging {
    /// Part of the OVA's cache key: change it when the package's bytes change.
    public static let version = "unbuilt"

    public static func package(appliance: ApplianceDescription, disk: ImageArtefact, options: ImageOptions, to output: URL)
        throws(ImageError)
    {
        throw .notBuilt(.ova)
    }
}
