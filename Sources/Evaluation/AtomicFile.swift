#if canImport(Glibc)
import Glibc
#endif

/// Atomic file replacement: write under a temporary name in the same folder, fsync, rename over the
/// final name, fsync the folder. A crash leaves either the old file or the complete new one.
enum AtomicFile {
    /// The temporary name used while `path` is being written (same folder, so rename is atomic).
    static func temporaryPath(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(folder).\(name).tmp-\(getpid())"
    }

    /// Writes `bytes` to `path` atomically.
    /// - Throws: `FeatureFileError` naming the system call that failed.
    static func write(_ bytes: [UInt8], to path: String) throws(FeatureFileError) {
        let temporary = temporaryPath(for: path)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw systemError(path: temporary, operation: "open") }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                let error = systemError(path: temporary, operation: "write")
                close(descriptor)
                unlink(temporary)
                throw error
            }
            offset += written
        }
        guard fsync(descriptor) == 0 else {
            let error = systemError(path: temporary, operation: "fsync")
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        try commit(temporary: temporary, to: path)
    }

    /// Fsyncs the finished file `temporary` (written by a library such as libhdf5), renames it to `path`
    /// and fsyncs the folder. On failure the temporary file is removed.
    static func commit(temporary: String, to path: String) throws(FeatureFileError) {
        let descriptor = open(temporary, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw systemError(path: temporary, operation: "open") }
        let synced = fsync(descriptor) == 0
        let syncError = synced ? nil : systemError(path: temporary, operation: "fsync")
        close(descriptor)
        if let syncError {
            unlink(temporary)
            throw syncError
        }
        guard rename(temporary, path) == 0 else {
            let error = systemError(path: path, operation: "rename")
            unlink(temporary)
            throw error
        }
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let folderDescriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderDescriptor >= 0 {
            _ = fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    /// Reads the whole file at `path`.
    /// - Throws: `FeatureFileError` naming the system call that failed.
    static func read(_ path: String) throws(FeatureFileError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw systemError(path: path, operation: "open") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw systemError(path: path, operation: "stat") }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var offset = 0
        while offset < bytes.count {
            let count = bytes.count
            let got = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + offset, count - offset) }
            if got < 0 {
                if errno == EINTR { continue }
                throw systemError(path: path, operation: "read")
            }
            if got == 0 { break }
            offset += got
        }
        guard offset == bytes.count else { throw FeatureFileError(path: path, "file shrank while being read") }
        return bytes
    }

    private static func systemError(path: String, operation: String) -> FeatureFileError {
        FeatureFileError(path: path, "\(operation) failed: \(String(cString: strerror(errno)))")
    }
}
