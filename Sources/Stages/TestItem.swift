import Dataflow

/// The item of the built-in test stages: a sequence number, the replica that made it, and a payload
/// of a chosen size whose first and last 8 bytes hold the sequence number (so a sink can tell a
/// payload that was mixed up or cut short).
public struct TestItem: ByteSized, Equatable {
    /// 0-based position in the source's output, across source replicas.
    public let sequence: Int
    /// The source replica that made it.
    public let producer: Int
    /// The payload, shared by reference: the engine never copies it.
    public let payload: Payload

    /// Makes an item with a payload of `size` bytes stamped at both ends.
    public init(sequence: Int, producer: Int, size: Int) {
        self.sequence = sequence
        self.producer = producer
        self.payload = Payload(size: size, stamp: UInt64(sequence))
    }

    public var byteCount: Int { payload.count }

    /// Whether both stamps match the sequence number.
    public var isIntact: Bool { payload.hasStamp(UInt64(sequence)) }

    public static func == (a: TestItem, b: TestItem) -> Bool {
        a.sequence == b.sequence && a.producer == b.producer && a.payload === b.payload
    }
}

/// Bytes whose first and last 8 hold a stamp; the bytes between are left uninitialised and never
/// read, so a large payload costs an allocation, not a fill: the engine benchmark measures moving
/// items, not making them. Immutable after init.
public final class Payload: @unchecked Sendable {
    // Safety: written only in init, read-only afterwards.
    private let bytes: UnsafeMutablePointer<UInt8>
    /// Size in bytes.
    public let count: Int

    init(size: Int, stamp: UInt64) {
        count = size
        bytes = .allocate(capacity: max(1, size))
        for index in 0..<min(8, size) {
            let byte = UInt8(truncatingIfNeeded: stamp >> (8 * UInt64(index)))
            bytes[index] = byte
            bytes[size - 1 - index] = byte
        }
    }

    deinit { bytes.deallocate() }

    func hasStamp(_ stamp: UInt64) -> Bool {
        for index in 0..<min(8, count) {
            let byte = UInt8(truncatingIfNeeded: stamp >> (8 * UInt64(index)))
            if bytes[index] != byte || bytes[count - 1 - index] != byte { return false }
        }
        return true
    }
}
