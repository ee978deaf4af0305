import CZlib

/// CRC-32 as zlib computes it (IEEE 802.3, reflected polynomial 0xEDB88320): `zlib.crc32` in Python.
/// `CRC32.checksum(of: Array("123456789".utf8)) == 0xCBF43926`.
public enum CRC32 {
    /// The CRC-32 of `bytes`, continuing from `initial` (0 to start).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing initial: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return initial }
        return UInt32(truncatingIfNeeded: crc32_z(UInt(initial), base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }

    /// The CRC-32 of `bytes`, continuing from `initial` (0 to start).
    public static func checksum(of bytes: [UInt8], continuing initial: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: initial) }
    }
}

/// The CRC-32 of A followed by B, from crc(A), crc(B) and B's length (zlib's `crc32_combine`).
func crc32Combine(_ first: UInt32, _ second: UInt32, _ secondLength: Int) -> UInt32 {
    UInt32(truncatingIfNeeded: crc32_combine(UInt(first), UInt(second), .init(secondLength)))
}
