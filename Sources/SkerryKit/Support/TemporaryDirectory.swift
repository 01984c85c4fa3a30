import Foundation

/// A private directory under the system's temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String) throws(BootSetupError) {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw .temporaryDirectory(String(cString: strerror(errno)))
        }
        path = String(cString: created)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
