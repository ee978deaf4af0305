/// FNV-1a, 64-bit (Fowler–Noll–Vo; IETF draft-eastlake-fnv): starting from the offset basis 0xcbf29ce484222325,
/// for every byte `h ← (h ⊕ byte) · 0x100000001b3 mod 2⁶⁴`. The train-state checkpoint's checksum over the raw
/// little-endian bytes of its float tensors (`TrainCheckpoint`): in Python,
/// `h = 0xcbf29ce484222325; for b in data: h = ((h ^ b) * 0x100000001b3) & (2**64 - 1)`.
struct FNV1a64: Sendable {
    /// The hash of the bytes combined so far.
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    /// Folds `bytes` in, in order.
    mutating func combine(_ bytes: UnsafeRawBufferPointer) {
        var hash = value
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        value = hash
    }

    /// Folds in the host bytes of `values` (little-endian on every supported platform).
    mutating func combine<Element: BinaryFloatingPoint>(_ values: [Element]) {
        values.withUnsafeBytes { combine($0) }
    }

    /// `fnv1a64:` and 16 lowercase hex digits, as the checkpoint's metadata stores it.
    var text: String {
        let hex = String(value, radix: 16)
        return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
