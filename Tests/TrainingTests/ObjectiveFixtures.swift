import Compute
import Foundation
import Models
import TestSupport

/// The committed objective fixtures (`Tests/Fixtures/objective`, made by
/// tools/fixtures/make_objective_fixtures.py from a PyTorch implementation checked against DINOv2's code).
enum ObjectiveFixtures {
    /// The package root.
    static let root: URL = PackageRoot.url

    static func path(_ name: String) -> String { root.appendingPathComponent("Tests/Fixtures/objective/\(name)").path }

    static func file(_ name: String) throws -> SafetensorsFile { try SafetensorsFile(path: path(name)) }

    /// A JSON fixture, decoded with `JSONDecoder` (whose numbers round correctly; `JSONSerialization` on Linux
    /// can be an ulp off).
    static func json<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(type, from: Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    /// param_groups.json: DINOv2's rule for every parameter of a tiny student.
    struct ParameterGroupsFixture: Decodable {
        struct Parameter: Decodable {
            let name: String, lrMultiplier: Double, wdMultiplier: Double, isLastLayer: Bool
        }
        let depth: Int
        let parameters: [Parameter]
    }

    /// optimizer.json: the table (names and shapes in buffer order), schedule settings and iterations.
    struct OptimizerFixture: Decodable {
        struct Parameter: Decodable { let name: String, shape: [Int] }
        struct Schedule: Decodable {
            let epochs: Int, epochLength: Int, batch: Int, warmupEpochs: Int, warmupTempEpochs: Int
            let freezeLastLayerEpochs: Int
        }
        let depth: Int
        let iterations: [Int]
        let schedule: Schedule
        let parameters: [Parameter]
    }

    /// An F64 tensor's values.
    static func doubles(_ file: SafetensorsFile, _ name: String) throws -> [Double] {
        let entry = try file.entry(name)
        precondition(entry.dtype == .f64, "\(name) is \(entry.dtype)")
        let bytes = try file.bytes(name)
        return (0..<entry.count).map { bytes.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) }
    }

    /// An I64 tensor's values.
    static func integers(_ file: SafetensorsFile, _ name: String) throws -> [Int] {
        let entry = try file.entry(name)
        precondition(entry.dtype == .i64, "\(name) is \(entry.dtype)")
        let bytes = try file.bytes(name)
        return (0..<entry.count).map { Int(bytes.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
    }

    /// A U64 tensor's values.
    static func unsignedIntegers(_ file: SafetensorsFile, _ name: String) throws -> [UInt64] {
        let entry = try file.entry(name)
        precondition(entry.dtype == .u64, "\(name) is \(entry.dtype)")
        let bytes = try file.bytes(name)
        return (0..<entry.count).map { bytes.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) }
    }

    /// FNV-1a 64 of the little-endian bytes of `values` (the fixture script's `fnv1a64`).
    static func fnv1a64(_ values: [Double]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for value in values {
            var bits = value.bitPattern.littleEndian
            for _ in 0..<8 {
                hash = (hash ^ (bits & 0xFF)) &* 0x0000_0100_0000_01B3
                bits >>= 8
            }
        }
        return hash
    }

    /// Largest |a − b| over the largest |b| (the gradient tolerance: relative to the tensor's scale).
    static func scaledError(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        let scale = b.map { Double(abs($0)) }.max() ?? 0
        let error = zip(a, b).map { Double(abs($0 - $1)) }.max() ?? 0
        return scale > 0 ? error / scale : error
    }

    /// |a − b| / |b|.
    static func relativeError(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(b), 1e-30) }
}
