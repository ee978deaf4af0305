import Foundation
import Testing
import TileShards

#if canImport(Glibc)
import Glibc
#endif

/// `distill tile` killed with SIGKILL while it writes shards, then run again on the same folder: what was
/// listed before the kill verifies, and the resumed dataset holds exactly the tiles of an uninterrupted run.
@Suite(.serialized) struct TileKillResumeTests {
    static let slides = Paths.packageRoot.appendingPathComponent("../shared/data/slides/aperio").standardizedFileURL.path

    /// The tiles of a dataset by (slide, x, y), with their pixels.
    static func tiles(_ directory: String) throws -> [String: [UInt8]] {
        let dataset = try ShardDataset(directory: directory)
        var tiles: [String: [UInt8]] = [:]
        for number in 0..<dataset.index.shards.count {
            let reader = try dataset.openShard(number)
            for index in 0..<reader.count {
                let tile = try reader.tile(at: index)
                let key = "\(tile.metadata.slideID)@\(tile.metadata.x),\(tile.metadata.y)"
                #expect(tiles[key] == nil, "tile \(key) written twice")
                tiles[key] = tile.pixels
            }
        }
        return tiles
    }

    @Test func sigkillMidWriteThenResumeEqualsAnUninterruptedRun() async throws {
        let distill = try Paths.requireDistill()
        let root = NSTemporaryDirectory() + "distill-kill-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let csv = root + "/mpp.csv"
        try "slide,mpp\ntcga-cr-7395-01a-01-ts1.svs,0.25\n".write(toFile: csv, atomically: true, encoding: .utf8)
        // Three tiles per shard: ~30 shards, each sealed and listed as it fills, so a kill lands between and
        // during shard writes.
        func arguments(_ out: String) -> [String] {
            ["tile", Self.slides, "--out", out, "--mpp-csv", csv, "--tiles-per-shard", "3", "--run-dir", out + "-run-\(UUID().uuidString)"]
        }

        let clock = ContinuousClock()
        let reference = try await runToEnd(distill, arguments(root + "/reference"), timeout: .seconds(120))
        #expect(reference.status == 0, "\(reference.stderr)")
        let expected = try Self.tiles(root + "/reference")
        #expect(expected.count == 86, "39 tiles of CMU-1-Small-Region + 47 of the TCGA slide at 0.25 µm/px")

        // Trial 1: killed as soon as index.json lists a shard. Trial 2: killed at a random moment after that.
        var generator = SystemRandomNumberGenerator()
        for trial in 1...2 {
            let out = root + "/killed-\(trial)"
            let child = try Subprocess(distill, arguments(out))
            defer { child.killIfRunning() }
            let deadline = clock.now + .seconds(60)
            while (try? ShardDataset(directory: out)) == nil && clock.now < deadline && child.process.isRunning {
                try await Task.sleep(for: .milliseconds(2))
            }
            if trial == 2 {
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...400, using: &generator)))
            }
            child.signal(SIGKILL)
            let status = await child.finish(timeout: .seconds(20))
            guard status == 128 + SIGKILL else {
                // The run finished before the kill: nothing to resume (possible in trial 2 on a fast machine).
                #expect(status == 0 && trial == 2, "trial \(trial): exit \(String(describing: status)); stderr:\n\(child.stderr.value.text)")
                continue
            }
            // What index.json lists after the kill is intact, tile for tile; the only problems reported are
            // listed shards holding tiles of slides not yet completed, which the verifier calls an
            // interrupted write for the writer to resume, the temporary file of the shard being written when the
            // kill landed, and a shard sealed but not yet listed (the kill fell between its rename and index.json).
            let afterKill = DatasetVerifier.verify(directory: out)
            #expect(afterKill.shards >= 1 && afterKill.intactTiles == afterKill.tiles, "trial \(trial): \(afterKill.lines)")
            #expect(afterKill.lines.allSatisfy {
                $0.contains("an interrupted write: resume the writer")
                    || $0.contains("temporary file of a writer that is running or crashed")
                    || $0.contains("not listed in index.json (sealed by a writer that did not commit it; resume the writer")
            }, "trial \(trial): \(afterKill.lines)")
            // Resume: the same command finishes, and the dataset equals the uninterrupted one, tile for tile.
            let resumed = try await runToEnd(distill, arguments(out), timeout: .seconds(120))
            #expect(resumed.status == 0, "trial \(trial): \(resumed.stderr)")
            let verify = try await runToEnd(distill, ["shards", "verify", out])
            #expect(verify.status == 0, "trial \(trial): \(verify.stdout)\n\(verify.stderr)")
            let got = try Self.tiles(out)
            #expect(got.count == expected.count, "trial \(trial): \(got.count) tiles, expected \(expected.count)")
            #expect(Set(got.keys) == Set(expected.keys), "trial \(trial): tile positions differ")
            #expect(got.allSatisfy { expected[$0.key] == $0.value }, "trial \(trial): pixels differ")
        }
    }
}
