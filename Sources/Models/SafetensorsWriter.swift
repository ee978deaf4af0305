import Compute
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes safetensors files atomically: the file is written under a temporary name in the same folder,
/// fsynced, renamed over `path`, and the folder fsynced, so a crash never leaves a partial file at `path`.
///
/// Tensors are stored in the order given, each in its own dtype (F32, BF16, F16 from a `Tensor`; F32 or F64 from an
/// array slice, `SafetensorsPayload`), the JSON header padded with spaces to a multiple of 8 bytes (so every
/// tensor's data starts 8-byte aligned, as the reference writer does); keys are sorted in the header.
public enum SafetensorsWriter {
    /// Writes `tensors` (host tensors, unique names) and `metadata` to `path`.
    /// - Throws: `SafetensorsError.cannotWrite` for a duplicate name or a tensor not on the host;
    ///   `.io` naming the failed call (open, write, fsync, rename). On failure `path` is left as it was.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                             to path: String) throws(SafetensorsError) {
        try write(entries: tensors.map { (name: $0.name, payload: .tensor($0.tensor)) }, metadata: metadata, to: path)
    }

    /// Writes `entries` (unique names; tensors on the host, array slices holding their shape's element count) and
    /// `metadata` to `path`.
    /// - Throws: `SafetensorsError.cannotWrite` for a duplicate name, a tensor not on the host, or a slice whose
    ///   count is not its shape's; `.io` naming the failed call. On failure `path` is left as it was.
    public static func write(entries: [(name: String, payload: SafetensorsPayload)], metadata: [String: String] = [:],
                             to path: String) throws(SafetensorsError) {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, payload) in entries {
            guard header[name] == nil, name != "__metadata__" else {
                throw .cannotWrite(path: path, key: name, reason: "duplicate name")
            }
            if case .tensor(let tensor) = payload, tensor.device != .cpu {
                throw .cannotWrite(path: path, key: name, reason: "the tensor is on \(tensor.device); download it first")
            }
            let shapeCount = payload.shape.reduce(1, *)
            guard payload.count == shapeCount else {
                throw .cannotWrite(path: path, key: name, reason: "\(payload.count) values for shape \(payload.shape) (\(shapeCount))")
            }
            header[name] = ["dtype": payload.dtype.rawValue, "shape": payload.shape,
                            "data_offsets": [offset, offset + payload.byteCount]] as [String: Any]
            offset += payload.byteCount
        }
        var json: Data
        do {
            json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        } catch {
            throw .cannotWrite(path: path, key: "__header__", reason: "\(error)")
        }
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        // The 8-byte length and the JSON, in one buffer.
        let prefix = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 + json.count, alignment: 8)
        defer { prefix.deallocate() }
        prefix.storeBytes(of: UInt64(json.count).littleEndian, as: UInt64.self)
        _ = json.copyBytes(to: UnsafeMutableRawBufferPointer(rebasing: prefix[8...]).assumingMemoryBound(to: UInt8.self))

        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io(path: temporary, operation: "open", errno: errno) }
        do throws(SafetensorsError) {
            try writeAll(descriptor, UnsafeRawBufferPointer(prefix), path: temporary)
            for (_, payload) in entries {
                try payload.withBytes { bytes throws(SafetensorsError) in try writeAll(descriptor, bytes, path: temporary) }
            }
            guard fsync(descriptor) == 0 else { throw SafetensorsError.io(path: temporary, operation: "fsync", errno: errno) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        guard close(descriptor) == 0 else {
            let code = errno
            unlink(temporary)
            throw .io(path: temporary, operation: "close", errno: code)
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw .io(path: path, operation: "rename", errno: code)
        }
        let folder = (path as NSString).deletingLastPathComponent
        let folderDescriptor = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderDescriptor >= 0 {
            defer { close(folderDescriptor) }
            guard fsync(folderDescriptor) == 0 else { throw .io(path: folder, operation: "fsync", errno: errno) }
        }
    }

    /// `write(2)` until every byte is written (retrying on EINTR and short writes).
    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SafetensorsError) {
        var written = 0
        while written < bytes.count {
            let result = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "write", errno: errno)
            }
            written += result
        }
    }
}
