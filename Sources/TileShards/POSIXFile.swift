#if canImport(Glibc)
import Glibc
#endif

/// A file descriptor with the few calls shards need: positional reads, appends, fsync. Errors name the
/// path and the failed call. Closed on deinit.
final class POSIXFile {
    let path: String
    private(set) var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { if descriptor >= 0 { _ = Glibc.close(descriptor) } }

    /// Opens an existing file for reading.
    static func openForReading(_ path: String) throws(ShardError) -> POSIXFile {
        let descriptor = retrying { Glibc.open(path, O_RDONLY | O_CLOEXEC) }
        guard descriptor >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        return POSIXFile(path: path, descriptor: descriptor)
    }

    /// Creates a new file for writing; fails if it exists (`O_EXCL`).
    static func create(_ path: String) throws(ShardError) -> POSIXFile {
        let descriptor = retrying { Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
        guard descriptor >= 0 else { throw .io(path: path, operation: "create", errno: errno) }
        return POSIXFile(path: path, descriptor: descriptor)
    }

    /// Opens (creating if needed) a file for reading and writing, without truncating it.
    static func openForUpdate(_ path: String) throws(ShardError) -> POSIXFile {
        let descriptor = retrying { Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
        guard descriptor >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        return POSIXFile(path: path, descriptor: descriptor)
    }

    /// Size of the file in bytes.
    func size() throws(ShardError) -> Int64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .io(path: path, operation: "fstat", errno: errno) }
        return Int64(info.st_size)
    }

    /// Reads exactly `buffer.count` bytes at `offset`; returns false when the file ends first.
    /// Throws `.io` when the read fails.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(ShardError) -> Bool {
        var done = 0
        while done < buffer.count {
            let result = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if result < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "read", errno: errno)
            }
            if result == 0 { return false }
            done += result
        }
        return true
    }

    /// Reads `count` bytes at `offset` into a new array; throws `.io` on error or when the file ends first.
    func read(count: Int, at offset: Int64) throws(ShardError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let complete = try bytes.withMutableShardBytes { (buffer) throws(ShardError) in try read(into: buffer, at: offset) }
        guard complete else { throw .io(path: path, operation: "read (unexpected end of file)", errno: EIO) }
        return bytes
    }

    /// Writes all of `bytes` at the current position.
    func write(_ bytes: UnsafeRawBufferPointer) throws(ShardError) {
        var done = 0
        while done < bytes.count {
            let result = Glibc.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if result < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "write", errno: errno)
            }
            done += result
        }
    }

    /// Truncates the file to `size` bytes.
    func truncate(_ size: Int64) throws(ShardError) {
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw .io(path: path, operation: "ftruncate", errno: errno) }
    }

    /// Flushes the file's data and metadata to the device.
    func sync() throws(ShardError) {
        while fsync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw .io(path: path, operation: "fsync", errno: errno)
        }
    }

    /// Closes the file, reporting errors (a deferred write error can surface here).
    func close() throws(ShardError) {
        guard descriptor >= 0 else { return }
        let result = Glibc.close(descriptor)
        descriptor = -1
        if result != 0 && errno != EINTR { throw .io(path: path, operation: "close", errno: errno) }
    }

    private static func retrying(_ call: () -> Int32) -> Int32 {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }
}
