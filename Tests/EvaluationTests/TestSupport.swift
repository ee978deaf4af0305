import Foundation
@testable import Evaluation
import TestSupport

/// The package root.
let packageRoot: URL = PackageRoot.url

/// `../shared` next to the package root.
let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")

/// `../shared/reference/eval-parity`.
let evalParity = shared.appendingPathComponent("reference/eval-parity")

/// `Tests/Fixtures/evaluation` in the package.
let evaluationFixtures = packageRoot.appendingPathComponent("Tests/Fixtures/evaluation")

/// A parsed JSON file (objects as [String: Any], arrays as [Any], numbers as NSNumber holding the Double).
/// Parsed with JSONDecoder, which reads every double exactly (JSONSerialization on Linux can be an ulp off).
func loadJSON(_ url: URL) throws -> [String: Any] {
    try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: url)).any as! [String: Any]
}

/// Any JSON value, decoded exactly.
private enum JSONValue: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    var any: Any {
        switch self {
        case .null: NSNull()
        case .bool(let value): value
        case .number(let value): NSNumber(value: value)
        case .string(let value): value
        case .array(let values): values.map(\.any)
        case .object(let values): values.mapValues(\.any)
        }
    }
}

/// A fresh empty folder under the system temporary folder.
func temporaryDirectory(_ prefix: String = "evaluation-tests") throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

/// gen.py's generators (`../shared/reference/eval-parity/gen.py`), in Float64.
enum ParityInputs {
    /// `slide_pair(seed, n, d, noise)`: A = U(-1,1)^(n×d); B = A + noise · U(-1,1)^(n×d), A drawn first.
    static func slidePair(seed: UInt64, n: Int, d: Int, noise: Double) -> (FeatureMatrix<Double>, FeatureMatrix<Double>) {
        var rng = SplitMix64(seed: seed)
        let a = rng.symmetricMatrix(rows: n, columns: d)
        let e = rng.symmetricMatrix(rows: n, columns: d)
        return (a, FeatureMatrix(rows: n, columns: d, values: zip(a.values, e.values).map { $0 + noise * $1 }))
    }

    /// `plism_like(seed, stainings, scanners, n, d, scanner_scale, staining_scale, noise)`: base + staining
    /// offset + scanner offset + noise per slide; draw order base, staining offsets, scanner offsets, then
    /// one noise matrix per slide (staining-major).
    static func plismLike(seed: UInt64, stainings: [String], scanners: [String], n: Int, d: Int,
                          scannerScale: Double, stainingScale: Double, noise: Double) -> [RobustnessSlide<Double>] {
        var rng = SplitMix64(seed: seed)
        let base = rng.symmetricMatrix(rows: n, columns: d)
        let stainingOffsets = stainings.map { _ in rng.symmetricMatrix(rows: 1, columns: d).values }
        let scannerOffsets = scanners.map { _ in rng.symmetricMatrix(rows: 1, columns: d).values }
        var slides = [RobustnessSlide<Double>]()
        for (s, staining) in stainings.enumerated() {
            for (c, scanner) in scanners.enumerated() {
                let eps = rng.symmetricMatrix(rows: n, columns: d)
                var values = [Double](repeating: 0, count: n * d)
                for i in 0 ..< n {
                    for j in 0 ..< d {
                        values[i * d + j] = base[i, j] + stainingScale * stainingOffsets[s][j]
                            + scannerScale * scannerOffsets[c][j] + noise * eps[i, j]
                    }
                }
                let label = try! SlideLabel(name: "\(staining)_\(scanner)_to_GMH_S60.tif")
                slides.append(RobustnessSlide(label: label, features: FeatureMatrix(rows: n, columns: d, values: values)))
            }
        }
        return slides
    }
}

/// SHA-256 (FIPS 180-4), for checking committed fixture files against published digests.
func sha256Hex(_ message: [UInt8]) -> String {
    let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
    var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    var data = message
    data.append(0x80)
    while data.count % 64 != 56 { data.append(0) }
    let bits = UInt64(message.count) * 8
    for shift in stride(from: 56, through: 0, by: -8) { data.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
    for chunk in stride(from: 0, to: data.count, by: 64) {
        var w = [UInt32](repeating: 0, count: 64)
        for i in 0 ..< 16 {
            w[i] = (0 ..< 4).reduce(0) { $0 << 8 | UInt32(data[chunk + 4 * i + $1]) }
        }
        for i in 16 ..< 64 {
            let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
        for i in 0 ..< 64 {
            let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
            let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
            (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
        }
        for (i, v) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ v }
    }
    return h.map { word in
        let hex = String(word, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }.joined()
}

/// A tile coordinate from Ints (keeps test expressions simple for the type checker).
func tile(_ x: Int, _ y: Int) -> TileCoordinate { TileCoordinate(x: Int64(x), y: Int64(y)) }
