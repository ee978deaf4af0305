import Dataflow
import Foundation

/// The tiling graph (`graphs/tile.yaml`) and the settings `distill tile` fills in.
public struct TileGraph: Sendable {
    /// Slide files or directories.
    public var inputs: [String]
    /// Dataset folder.
    public var out: String
    public var mpp = 0.5
    public var size = 224
    public var minTissue = 0.5
    public var mppOverride: Double?
    public var mppCSV: String?
    public var failFast = false
    public var fluorescence = "reject"
    public var tilesPerShard = 10_000
    public var readerReplicas: Int?

    public init(inputs: [String], out: String) {
        self.inputs = inputs
        self.out = out
    }

    /// `graphs/tile.yaml` of the source tree this was built from, if it is still there.
    public static var packageGraphPath: String? {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("graphs/tile.yaml").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// The same graph as `graphs/tile.yaml`, for a `distill` run away from the source tree.
    public static let embeddedYAML = """
        name: tile
        stages:
          - name: slides
            type: slide-list
            params:
              inputs: "${SLIDES}"
          - name: reader
            type: slide-reader
            replicas: 2
            params:
              mpp: ${TILE_MPP:-0.5}
              size: ${TILE_SIZE:-224}
              min_tissue: ${TILE_MIN_TISSUE:-0.5}
              mpp_override: ${TILE_MPP_OVERRIDE:-0}
              mpp_csv: "${TILE_MPP_CSV:-}"
              fail_fast: ${TILE_FAIL_FAST:-false}
              fluorescence: ${TILE_FLUORESCENCE:-reject}
          - name: writer
            type: shard-writer
            params:
              out: ${TILE_OUT}
              mpp: ${TILE_MPP:-0.5}
              size: ${TILE_SIZE:-224}
              tiles_per_shard: ${TILE_TILES_PER_SHARD:-10000}
              zstd_level: ${TILE_ZSTD_LEVEL:-3}
        edges:
          - {from: slides, to: reader, capacity: 4}
          - {from: reader, to: writer, capacity: 64 MiB}
        """

    /// The environment the placeholders are filled from.
    public var environment: [String: String] {
        var env: [String: String] = [
            "TILE_OUT": out, "TILE_MPP": String(mpp), "TILE_SIZE": String(size), "TILE_MIN_TISSUE": String(minTissue),
            "TILE_FAIL_FAST": String(failFast), "TILE_FLUORESCENCE": fluorescence,
            "TILE_TILES_PER_SHARD": String(tilesPerShard),
        ]
        if let mppOverride { env["TILE_MPP_OVERRIDE"] = String(mppOverride) }
        if let mppCSV { env["TILE_MPP_CSV"] = mppCSV }
        return env
    }

    /// Loads and validates the graph (`graphs/tile.yaml` when found next to the package, else ``embeddedYAML``)
    /// with `"${SLIDES}"` replaced by the inputs as a YAML list.
    /// - Returns: the graph and the file it came from (`<embedded tile.yaml>` for the embedded text).
    public func load(registry: StageRegistry = .builtIn) throws -> (spec: GraphSpec, source: String) {
        let path = Self.packageGraphPath
        let template = path.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? Self.embeddedYAML
        let source = path ?? "<embedded tile.yaml>"
        let list = "[" + inputs.map { Self.quoted($0) }.joined(separator: ", ") + "]"
        let yaml = template.replacingOccurrences(of: "\"${SLIDES}\"", with: list)
        // `distill tile` prints the per-slide table itself, after the run.
        var overrides = ["writer.log_table=false"]
        if let readerReplicas { overrides.append("reader.replicas=\(readerReplicas)") }
        let spec = try GraphLoader(registry: registry, environment: environment).load(yaml: yaml, path: source, overrides: overrides)
        return (spec, source)
    }

    /// A YAML double-quoted scalar (JSON string syntax) with `$` escaped for graph interpolation.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "$": out += "$$"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04X", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

