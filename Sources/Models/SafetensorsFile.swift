import Compute
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file, memory-mapped read-only (format: an 8-byte little-endian header length `N`, `N` bytes of
/// JSON `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}`, then the data; offsets
/// are relative to the data's start — huggingface/safetensors).
///
/// Opening validates the whole header the way the reference implementation does: `N` within the file, JSON
/// an object, every entry with a known dtype, a shape of non-negative integers, and `end − begin` equal to
/// the element count times the element size; entries must tile the data exactly (no overlap, no hole, nothing
/// after the last). Each violation is a `SafetensorsError` naming the file and the tensor.
///
/// Tensors are read by copying (and converting F16/BF16 to F32; F64 exactly with `doubles`) out of the mapping;
/// the mapping lives as long as the object. Sendable: immutable after opening.
public final class SafetensorsFile: @unchecked Sendable {
    /// One tensor's header entry.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: SafetensorsDType
        public let shape: [Int]
        /// Byte range relative to the start of the data section.
        public let byteRange: Range<Int>
        /// Number of elements.
        public var count: Int { shape.reduce(1, *) }
    }

    /// The file's path, used in every error.
    public let path: String
    /// Entries by tensor name.
    public let entries: [String: Entry]
    /// The `__metadata__` string map (empty when absent).
    public let metadata: [String: String]
    private let mapping: UnsafeRawPointer
    private let mappedBytes: Int
    private let dataStart: Int

    /// Tensor names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Maps and validates `path`.
    /// - Throws: `SafetensorsError.io` (open/stat/mmap), `.badHeader`, `.badEntry`.
    public init(path: String) throws(SafetensorsError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .io(path: path, operation: "stat", errno: errno) }
        let size = Int(status.st_size)
        guard size >= 8 else { throw .badHeader(path: path, reason: "\(size) bytes, shorter than the 8-byte header length") }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), mapped != MAP_FAILED else {
            throw .io(path: path, operation: "mmap", errno: errno)
        }
        do {
            let headerLength = UInt64(littleEndian: mapped.loadUnaligned(as: UInt64.self))
            guard headerLength <= UInt64(size - 8) else {
                throw SafetensorsError.badHeader(path: path, reason: "header length \(headerLength) exceeds the file (\(size) bytes)")
            }
            guard headerLength <= 100_000_000 else {
                throw SafetensorsError.badHeader(path: path, reason: "header length \(headerLength) is over the 100 MB limit")
            }
            let headerBytes = Data(bytes: mapped + 8, count: Int(headerLength))
            let dataStart = 8 + Int(headerLength)
            let (entries, metadata) = try Self.parseHeader(headerBytes, path: path, dataSize: size - dataStart)
            self.entries = entries
            self.metadata = metadata
            self.mapping = UnsafeRawPointer(mapped)
            self.mappedBytes = size
            self.dataStart = dataStart
        } catch let error as SafetensorsError {
            munmap(mapped, size)
            throw error
        } catch {
            munmap(mapped, size)
            throw .badHeader(path: path, reason: "\(error)")
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: mapping), mappedBytes) }

    /// The entry named `name`.
    /// - Throws: `SafetensorsError.missingTensor`.
    public func entry(_ name: String) throws(SafetensorsError) -> Entry {
        guard let entry = entries[name] else { throw .missingTensor(path: path, key: name) }
        return entry
    }

    /// The raw bytes of tensor `name` inside the mapping (valid while this object lives).
    /// - Throws: `SafetensorsError.missingTensor`.
    public func bytes(_ name: String) throws(SafetensorsError) -> UnsafeRawBufferPointer {
        let entry = try entry(name)
        return UnsafeRawBufferPointer(start: mapping + dataStart + entry.byteRange.lowerBound, count: entry.byteRange.count)
    }

    /// Copies tensor `name` into `destination` as `Float` (F32 copied, F16/BF16 converted exactly).
    /// - Throws: `.missingTensor`; `.unsupportedDType` for other dtypes.
    public func copyFloats(_ name: String, into destination: UnsafeMutablePointer<Float>) throws(SafetensorsError) {
        let entry = try entry(name)
        guard let dtype = entry.dtype.computeType else {
            throw .unsupportedDType(path: path, key: name, dtype: entry.dtype.rawValue)
        }
        DTypeConversion.convert(mapping + dataStart + entry.byteRange.lowerBound, dtype: dtype, count: entry.count,
                                into: destination)
    }

    /// The values of F64 tensor `name`, exactly, in row-major order `[count]`.
    /// - Throws: `.missingTensor`; `.dtypeMismatch` when it is not stored as F64.
    public func doubles(_ name: String) throws(SafetensorsError) -> [Double] {
        let entry = try entry(name)
        guard entry.dtype == .f64 else {
            throw .dtypeMismatch(path: path, key: name, dtype: entry.dtype.rawValue, expected: SafetensorsDType.f64.rawValue)
        }
        let source = UnsafeRawBufferPointer(start: mapping + dataStart + entry.byteRange.lowerBound, count: entry.byteRange.count)
        // The data need not be 8-byte aligned inside the mapping: copy bytes, then read little-endian bit patterns.
        return [Double](unsafeUninitializedCapacity: entry.count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            for index in 0..<entry.count { buffer[index] = Double(bitPattern: UInt64(littleEndian: buffer[index].bitPattern)) }
            initialized = entry.count
        }
    }

    /// Tensor `name` as a new host `f32` tensor of its shape.
    /// - Throws: as `copyFloats`.
    public func tensor(_ name: String) throws(SafetensorsError) -> Tensor {
        let entry = try entry(name)
        let tensor = Tensor(shape: entry.shape)
        try copyFloats(name, into: tensor.floats)
        return tensor
    }

    /// Parses and validates the JSON header against a data section of `dataSize` bytes.
    static func parseHeader(_ bytes: Data, path: String, dataSize: Int) throws -> ([String: Entry], [String: String]) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: bytes)
        } catch {
            throw SafetensorsError.badHeader(path: path, reason: "the header is not valid JSON")
        }
        guard let header = object as? [String: Any] else {
            throw SafetensorsError.badHeader(path: path, reason: "the header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (key, value) in header {
            if key == "__metadata__" {
                guard let map = value as? [String: Any] else {
                    throw SafetensorsError.badHeader(path: path, reason: "__metadata__ is not an object")
                }
                for (name, text) in map {
                    guard let string = text as? String else {
                        throw SafetensorsError.badHeader(path: path, reason: "__metadata__ value '\(name)' is not a string")
                    }
                    metadata[name] = string
                }
                continue
            }
            entries[key] = try parseEntry(key, value, path: path, dataSize: dataSize)
        }
        var end = 0
        for entry in entries.values.sorted(by: { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }) {
            guard entry.byteRange.lowerBound == end else {
                let reason = entry.byteRange.lowerBound < end ? "overlaps the previous tensor" : "leaves a hole before it"
                throw SafetensorsError.badEntry(path: path, key: entry.name, reason: "data_offsets \(entry.byteRange) \(reason) (previous ends at \(end))")
            }
            end = entry.byteRange.upperBound
        }
        guard end == dataSize else {
            throw SafetensorsError.badHeader(path: path, reason: "the tensors cover \(end) bytes of a \(dataSize)-byte data section")
        }
        return (entries, metadata)
    }

    static func parseEntry(_ key: String, _ value: Any, path: String, dataSize: Int) throws -> Entry {
        func bad(_ reason: String) -> SafetensorsError { .badEntry(path: path, key: key, reason: reason) }
        guard let fields = value as? [String: Any] else { throw bad("the entry is not an object") }
        guard let dtypeName = fields["dtype"] as? String else { throw bad("no dtype string") }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else { throw bad("unknown dtype \(dtypeName)") }
        guard let shapeValues = fields["shape"] as? [Any], let shape = integers(shapeValues), shape.allSatisfy({ $0 >= 0 }) else {
            throw bad("shape is not a list of non-negative integers")
        }
        guard let offsetValues = fields["data_offsets"] as? [Any], let offsets = integers(offsetValues), offsets.count == 2 else {
            throw bad("data_offsets is not a pair of integers")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw bad("data_offsets [\(begin), \(end)] outside the \(dataSize)-byte data section")
        }
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw bad("shape \(shape) overflows") }
            count = product
        }
        guard end - begin == count * dtype.byteSize else {
            throw bad("shape \(shape) of \(dtypeName) needs \(count * dtype.byteSize) bytes, data_offsets give \(end - begin)")
        }
        return Entry(name: key, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// JSON numbers that are all integers (not booleans, not written with a fraction or exponent), or nil.
    static func integers(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        for value in values {
            // JSONSerialization gives NSNumber; its objCType tells integers ("i", "q", …) from doubles ("d") and
            // booleans ("c"), which `is Bool` / `as? Int` do not on Linux.
            guard let number = value as? NSNumber, !["c", "B", "d", "f"].contains(String(cString: number.objCType)) else {
                return nil
            }
            result.append(number.intValue)
        }
        return result
    }
}
