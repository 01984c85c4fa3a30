import Foundation

/// A file a command writes at its end (a report): checked before the work
/// starts, so a bad path fails in a second rather than after a long run.
public enum OutputFile {
    /// Opens `path` for a log written as it grows: a regular file is
    /// created or emptied; a FIFO, a device or a terminal is written where
    /// it is, never replaced by a file (`--log /dev/null` as root must not
    /// turn /dev/null into a file). Nil and why, when it cannot be opened.
    public static func openLog(_ path: String) -> (handle: FileHandle?, problem: String?) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return (nil, String(cString: strerror(errno))) }
        return (FileHandle(fileDescriptor: fd, closeOnDealloc: true), nil)
    }

    /// nil when `path` can be written (created or replaced); otherwise why not.
    /// Replacing is atomic (a temporary file in the same directory, renamed),
    /// so the directory must be writable too.
    public static func problem(_ path: String) -> String? {
        guard !path.isEmpty else { return "the path is empty" }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return "\(path) is a directory" }
            // Replacing is a rename: a FIFO, a device or a socket there would be swapped for a file.
            var status = stat()
            if stat(path, &status) == 0 && (status.st_mode & S_IFMT) != S_IFREG {
                return "\(path) is not a regular file (a FIFO, device or socket is never replaced)"
            }
            if access(path, W_OK) != 0 { return "\(path) is not writable" }
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            return "the directory \(directory) does not exist"
        }
        guard isDirectory.boolValue else { return "\(directory) is not a directory" }
        guard access(directory, W_OK | X_OK) == 0 else { return "the directory \(directory) is not writable" }
        return nil
    }
}
