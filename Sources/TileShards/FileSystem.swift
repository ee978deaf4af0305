#if canImport(Glibc)
import Glibc
#endif

/// Folder and path operations for atomic writes.
enum FileSystem {
    /// Renames `from` to `to` (atomic replace within one file system).
    static func rename(_ from: String, to: String) throws(ShardError) {
        guard Glibc.rename(from, to) == 0 else { throw .io(path: to, operation: "rename from \(from)", errno: errno) }
    }

    /// Flushes a folder's entries (after a rename or unlink) to the device.
    static func syncDirectory(_ path: String) throws(ShardError) {
        let descriptor = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(path: path, operation: "open folder", errno: errno) }
        defer { _ = Glibc.close(descriptor) }
        while fsync(descriptor) != 0 {
            if errno == EINTR { continue }
            // Some file systems cannot fsync folders; the rename itself is still atomic there.
            if errno == EINVAL || errno == EROFS { return }
            throw .io(path: path, operation: "fsync folder", errno: errno)
        }
    }

    /// Removes a file; a file that is already gone is fine.
    static func remove(_ path: String) throws(ShardError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw .io(path: path, operation: "unlink", errno: errno) }
    }

    /// Whether `path` is a folder.
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether `path` exists.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Size of `path` in bytes, or nil if it does not exist.
    static func size(_ path: String) -> Int64? {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : nil
    }

    /// Creates a folder and its parents (like `mkdir -p`).
    static func createDirectory(_ path: String) throws(ShardError) {
        if isDirectory(path) { return }
        let parent = parentDirectory(path)
        if !parent.isEmpty && parent != path { try createDirectory(parent) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw .io(path: path, operation: "mkdir", errno: errno) }
        guard isDirectory(path) else { throw .notADirectory(path: path) }
    }

    /// The names in a folder (no `.`/`..`), sorted.
    static func list(_ path: String) throws(ShardError) -> [String] {
        guard let stream = opendir(path) else { throw .io(path: path, operation: "opendir", errno: errno) }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// `folder/name`.
    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    /// The folder part of a path (`.` for a bare name).
    static func parentDirectory(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// The last component of a path.
    static func fileName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
