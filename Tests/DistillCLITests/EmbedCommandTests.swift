import Distillery
import Foundation
import Testing

/// `distill embed` as a process on real tiles: a folder of PNG tiles and the shards `distill tile` makes of
/// CMU-1-Small-Region; the files read back with `FeatureSet.read` hold the documented datasets and attributes, the
/// folder's rows equal timm's (the embedding fixture) and the shards' rows equal those of the same pixels given as
/// PNG files.
///
/// No `CPUBackend` is made in this process: its init sets OpenBLAS to one thread process-wide, which changes the
/// last bits of the LAPACK results that `EvalCommandTests` compares exactly with a `distill eval` process (the
/// full suite's ComputeTests already do this before it).
@Suite(.serialized) struct EmbedCommandTests {
    static let root = Paths.packageRoot
    static let single = root.appendingPathComponent("../shared/data/tiles/single").standardizedFileURL.path
    static let slide = root.appendingPathComponent("../shared/data/slides/aperio/CMU-1-Small-Region.svs").standardizedFileURL.path
    static let config = root.appendingPathComponent("configs/models/vit-tiny-test.yaml").path
    static let weights = root.appendingPathComponent("Tests/Fixtures/vit/vit-tiny-test.safetensors").path

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

    @Test func imageFolderToHDF5() async throws {
        let distill = try Paths.requireDistill()
        let folder = try Paths.temporaryFolder("embed")
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("single.h5").path
        let run = try await runToEnd(distill, ["embed", "--model", Self.config, "--weights", Self.weights, "--input", Self.single,
                                               "--out", out, "--pool", "cls+mean", "--batch", "2", "--threads", "2"], timeout: .seconds(120))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("5 tiles → \(out): dim 128 (cls+mean), "), "\(run.stdout)")
        #expect(run.stdout.contains("5 resized to 224 px"))
        #expect(run.stderr.contains("5/5 tiles (100%)"), "\(run.stderr)")
        let written = try FeatureSet.read(path: out)
        #expect(written.features.rows == 5 && written.features.columns == 128)
        #expect(written.coordinates == nil)
        #expect(written.tileNames == ["skimage-ihc-512.png", "tiatoolbox-target_image-1000.png", "torchstain-source.png",
                                      "torchstain-target.png", "wsidicom-data-test_tile-240.png"])
        #expect(written.metadata == FeatureMetadata(name: "single", model: "vit-tiny-test", tileSize: 224, pooling: "cls+mean"))
        let timm = try SafetensorsFile(path: Self.root.appendingPathComponent("Tests/Fixtures/embedding/tiles-single-vit-tiny-test.safetensors").path)
        #expect(Self.maxDifference(written.features.values, try timm.tensor("cls_mean").scalars()) <= 1e-4)

        // .npy needs coordinates, which image files do not have: one line naming the file, exit 1, nothing written.
        let npy = folder.appendingPathComponent("single.npy").path
        let refused = try await runToEnd(distill, ["embed", "--model", Self.config, "--weights", Self.weights, "--input", Self.single, "--out", npy])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("error: \(npy): the plismbench .npy layout needs tile coordinates"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: npy))

        // --fit require: the first tile of another size is named.
        let strict = try await runToEnd(distill, ["embed", "--model", Self.config, "--weights", Self.weights, "--input", Self.single,
                                                  "--out", out + ".strict.h5", "--fit", "require"])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("error: tile skimage-ihc-512.png is 512×512 px; the model takes 224×224"), "\(strict.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + ".strict.h5"))
    }

    @Test func tileShardsToHDF5AndNPY() async throws {
        let distill = try Paths.requireDistill()
        let folder = try Paths.temporaryFolder("embed-shards")
        defer { try? FileManager.default.removeItem(at: folder) }
        let shards = folder.appendingPathComponent("tiles").path
        let tiled = try await runToEnd(distill, ["tile", Self.slide, "--out", shards], timeout: .seconds(120))
        #expect(tiled.status == 0, "\(tiled.stderr)")
        let dataset = try ShardDataset(directory: shards)
        #expect(dataset.tileCount == 39)

        let h5 = folder.appendingPathComponent("cmu.h5").path
        let npy = folder.appendingPathComponent("cmu.npy").path
        for (out, pool) in [(h5, "cls"), (npy, "cls+mean")] {
            let run = try await runToEnd(distill, ["embed", "--model", Self.config, "--weights", Self.weights, "--input", shards,
                                                   "--out", out, "--pool", pool, "--batch", "16"], timeout: .seconds(120))
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.hasPrefix("39 tiles → \(out): dim \(pool == "cls" ? 64 : 128) (\(pool)), "), "\(run.stdout)")
        }

        // The shards' own metadata, in dataset order, and their pixels as PNG files named in that order.
        var coordinates: [TileCoordinate] = []
        let pngs = folder.appendingPathComponent("pngs").path
        try FileManager.default.createDirectory(atPath: pngs, withIntermediateDirectories: true)
        for number in 0..<dataset.index.shards.count {
            let reader = try dataset.openShard(number)
            for index in 0..<reader.count {
                let tile = try reader.tile(at: index)
                coordinates.append(TileCoordinate(x: tile.metadata.x, y: tile.metadata.y))
                #expect(tile.metadata.mpp == 0.5 && tile.metadata.slideID == "CMU-1-Small-Region.svs")
                let name = String(format: "%03d.png", coordinates.count - 1)
                try PNGImage.write(RGBImage(width: reader.geometry.width, height: reader.geometry.height, pixels: tile.pixels),
                                   to: pngs + "/" + name)
            }
        }
        let fromPNGs = folder.appendingPathComponent("pngs.h5").path
        let pngRun = try await runToEnd(distill, ["embed", "--model", Self.config, "--weights", Self.weights, "--input", pngs,
                                                  "--out", fromPNGs, "--fit", "require"], timeout: .seconds(120))
        #expect(pngRun.status == 0, "\(pngRun.stderr)")
        let reference = try FeatureSet.read(path: fromPNGs)

        let written = try FeatureSet.read(path: h5)
        #expect(written.features.rows == 39 && written.features.columns == 64)
        #expect(written.coordinates == coordinates)
        #expect(written.tileNames == coordinates.map { "CMU-1-Small-Region.svs/\($0.x)_\($0.y)" })
        #expect(written.metadata == FeatureMetadata(name: "CMU-1-Small-Region.svs", model: "vit-tiny-test", tileSize: 224,
                                                    mpp: 0.5, pooling: "cls"))
        #expect(reference.features.rows == 39)
        #expect(Self.maxDifference(written.features.values, reference.features.values) <= 1e-5)

        let plism = try FeatureSet.read(path: npy)
        #expect(plism.features.rows == 39 && plism.features.columns == 128)
        #expect(plism.coordinates == coordinates)
        #expect(plism.levels == [Int64](repeating: 0, count: 39))
        // CLS half of cls+mean equals the CLS file.
        for row in 0..<39 {
            #expect(Self.maxDifference(Array(plism.features.row(row).prefix(64)), written.features.row(row)) <= 1e-5)
        }
    }

    @Test func badOptionsAndMissingInputs() async throws {
        let distill = try Paths.requireDistill()
        let folder = try Paths.temporaryFolder("embed-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("x.h5").path
        let badPool = try await runToEnd(distill, ["embed", "--model", Self.config, "--input", Self.single, "--out", out, "--pool", "mean"])
        #expect(badPool.status == 64)
        #expect(badPool.stderr.contains("--pool must be cls or cls+mean"), "\(badPool.stderr)")
        let badOut = try await runToEnd(distill, ["embed", "--model", Self.config, "--input", Self.single, "--out", out + ".csv"])
        #expect(badOut.status == 64)
        #expect(badOut.stderr.contains("--out must end in .h5, .hdf5 or .npy"), "\(badOut.stderr)")
        let missing = try await runToEnd(distill, ["embed", "--model", Self.config, "--input", folder.path + "/none", "--out", out])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("error: \(folder.path)/none: no such file or folder"), "\(missing.stderr)")
        // A checkpoint of another architecture: the key error names the file.
        let wrongWeights = Self.root.appendingPathComponent("Tests/Fixtures/vit/vit-tiny-gelu-test.safetensors").path
        let mismatch = try await runToEnd(distill, ["embed", "--model", Self.config, "--weights", wrongWeights, "--input", Self.single, "--out", out])
        #expect(mismatch.status == 1)
        #expect(mismatch.stderr.contains(wrongWeights), "\(mismatch.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        // Random weights: a loud warning, and the file says so.
        let random = try await runToEnd(distill, ["embed", "--model", Self.config, "--input", Self.single, "--out", out])
        #expect(random.status == 0, "\(random.stderr)")
        #expect(random.stderr.contains("warning: no --weights: vit-tiny-test gets RANDOM weights"))
        #expect(try FeatureSet.read(path: out).metadata.model == "vit-tiny-test (random weights, seed 0)")
    }
}
