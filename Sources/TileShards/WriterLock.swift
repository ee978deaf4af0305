#if canImport(Glibc)
import Glibc
#endif

/// The lock a `DatasetWriter` holds on its folder: `flock(LOCK_EX)` on `writer.lock`, which holds the
/// owner's PID as text. The kernel drops the lock when its process dies, so a crashed writer never leaves
/// a stale lock (field case D6); a second writer fails at once instead of waiting.
final class WriterLock {
    let path: String
    private var file: POSIXFile?

    private init(path: String, file: POSIXFile) {
        self.path = path
        self.file = file
    }

    deinit { release() }

    /// Takes the lock of `directory`.
    /// - Throws: `ShardError.datasetInUse` with the holder's PID when another writer holds it, `.io`.
    static func acquire(directory: String) throws(ShardError) -> WriterLock {
        let path = FileSystem.join(directory, ShardFormat.lockFileName)
        let file = try POSIXFile.openForUpdate(path)
        while flock(file.descriptor, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK { throw .datasetInUse(directory: directory, pid: readPID(file)) }
            throw .io(path: path, operation: "flock", errno: errno)
        }
        try file.truncate(0)
        let text = Array("\(getpid())\n".utf8)
        try text.withShardBytes { (bytes) throws(ShardError) in try file.write(bytes) }
        return WriterLock(path: path, file: file)
    }

    /// The PID of the live writer holding `directory`'s lock, or nil when no writer holds it.
    static func holder(directory: String) -> Int32? {
        let path = FileSystem.join(directory, ShardFormat.lockFileName)
        guard FileSystem.exists(path), let file = try? POSIXFile.openForReading(path) else { return nil }
        if flock(file.descriptor, LOCK_SH | LOCK_NB) == 0 {
            _ = flock(file.descriptor, LOCK_UN)
            return nil
        }
        return readPID(file) ?? -1
    }

    /// Releases the lock (closing the descriptor releases the flock).
    func release() {
        try? file?.close()
        file = nil
    }

    private static func readPID(_ file: POSIXFile) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(file.descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<count], as: UTF8.self).trimmingWhitespace())
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
