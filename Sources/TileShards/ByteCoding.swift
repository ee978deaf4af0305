/// Little-endian encoding into a growing byte array (all shard structures are little-endian, unaligned).
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { append(value) }
    mutating func u32(_ value: UInt32) { append(value) }
    mutating func u64(_ value: UInt64) { append(value) }
    mutating func i32(_ value: Int32) { append(UInt32(bitPattern: value)) }
    mutating func i64(_ value: Int64) { append(UInt64(bitPattern: value)) }
    mutating func f32(_ value: Float) { append(value.bitPattern) }
    mutating func f64(_ value: Double) { append(value.bitPattern) }
    mutating func zeros(_ count: Int) { bytes.append(contentsOf: repeatElement(0, count: count)) }
    mutating func raw(_ other: [UInt8]) { bytes.append(contentsOf: other) }

    private mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Little-endian reads at byte offsets of a byte array; callers check bounds first (`count`).
struct ByteReader {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var count: Int { bytes.count }

    func u8(_ offset: Int) -> UInt8 { bytes[offset] }
    func u16(_ offset: Int) -> UInt16 { load(offset) }
    func u32(_ offset: Int) -> UInt32 { load(offset) }
    func u64(_ offset: Int) -> UInt64 { load(offset) }
    func i32(_ offset: Int) -> Int32 { Int32(bitPattern: load(offset) as UInt32) }
    func i64(_ offset: Int) -> Int64 { Int64(bitPattern: load(offset) as UInt64) }
    func f32(_ offset: Int) -> Float { Float(bitPattern: load(offset)) }
    func f64(_ offset: Int) -> Double { Double(bitPattern: load(offset)) }

    /// CRC-32 of `count` bytes from `offset`.
    func crc32(_ offset: Int, _ count: Int) -> UInt32 {
        bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count)])) }
    }

    private func load<T: FixedWidthInteger>(_ offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= bytes.count, "ByteReader: read out of bounds")
        return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` whose closure throws `ShardError` (the stdlib's is untyped `rethrows`).
    func withShardBytes<R>(_ body: (UnsafeRawBufferPointer) throws(ShardError) -> R) throws(ShardError) -> R {
        try withUnsafeBufferPointer { (buffer) throws(ShardError) -> R in try body(UnsafeRawBufferPointer(buffer)) }
    }

    /// `withUnsafeMutableBytes` whose closure throws `ShardError`.
    mutating func withMutableShardBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(ShardError) -> R) throws(ShardError) -> R {
        try withUnsafeMutableBufferPointer { (buffer) throws(ShardError) -> R in try body(UnsafeMutableRawBufferPointer(buffer)) }
    }
}
