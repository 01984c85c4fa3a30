/// Why an OVA could not be written or was refused on opening; each names the file at fault.
public enum OVAError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The tar itself is damaged or hostile (the package's path, the problem).
    case archive(String, TarError)
    /// The package has no `.ovf` at all.
    case noDescriptor(String)
    /// The first file is not the descriptor (the first file, the descriptor found later).
    case descriptorNotFirst(first: String, descriptor: String)
    /// The manifest that goes with the descriptor is absent.
    case noManifest(String)
    case badManifest(file: String, line: Int, String)
    /// A file's SHA-256 differs from the manifest's.
    case checksumMismatch(file: String, expected: String, actual: String)
    /// A file the manifest lists is not in the package.
    case listedButAbsent(String)
    /// A file in the package that the manifest does not list.
    case notInManifest(String)
    /// The descriptor (or manifest) is larger than its limit (file, bytes, limit).
    case tooLarge(String, UInt64, limit: Int)
    /// The descriptor itself was refused.
    case descriptor(file: String, OVFError)
    /// The descriptor's disk file is not in the package.
    case diskNotInPackage(String)
    /// A name the package would store is unusable (name, why).
    case badName(String, String)
    /// Reading the disk or writing a file failed (path, why).
    case io(String, String)

    public var description: String {
        switch self {
        case .archive(let path, let error):
            return "\(path): \(error)"
        case .noDescriptor(let path):
            return "\(path) holds no .ovf descriptor"
        case .descriptorNotFirst(let first, let descriptor):
            return "the package's first file is \(first); an OVA starts with its descriptor (\(descriptor))"
        case .noManifest(let name):
            return "the package has no manifest \(name); Skerry opens only packages whose files it can check"
        case .badManifest(let file, let line, let why):
            return line > 0 ? "\(file) line \(line): \(why)" : "\(file): \(why)"
        case .checksumMismatch(let file, let expected, let actual):
            return "checksum mismatch: \(file) has SHA256 \(actual) but the manifest says \(expected)"
        case .listedButAbsent(let file):
            return "the manifest lists \(file) but the package does not hold it"
        case .notInManifest(let file):
            return "the package holds \(file) but the manifest does not list it"
        case .tooLarge(let file, let size, let limit):
            return "\(file) is \(size) bytes; more than \(limit) is refused"
        case .descriptor(let file, let error):
            return "\(file): \(error)"
        case .diskNotInPackage(let file):
            return "the descriptor's disk \(file) is not in the package"
        case .badName(let name, let why):
            return "cannot package \(name): \(why)"
        case .io(let path, let why):
            return "\(path): \(why)"
        }
    }
}
