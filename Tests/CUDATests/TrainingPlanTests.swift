import Testing
@testable import CUDA

/// The training kernels' launch geometry and chunk plans (pure arithmetic).
@Suite struct TrainingPlanTests {
    @Test func columnPartsCoverEveryRowOnce() {
        #expect(LaunchConfiguration.parts(rows: 0) == 1)
        #expect(LaunchConfiguration.parts(rows: 64) == 1)
        #expect(LaunchConfiguration.parts(rows: 65) == 2)
        // The paper's global crops in ViT-B/14: 2 crops × 32 images × 261 tokens.
        #expect(LaunchConfiguration.parts(rows: 2 * 32 * 261) == 261)
        #expect(LaunchConfiguration.columnParts(rows: 2 * 32 * 261) == LaunchConfiguration(gridX: 261, blockX: 256))
        #expect(LaunchConfiguration.columnParts(rows: 10, rowsPerPart: 3).gridX == 4)
    }

    @Test func layerNormBackwardKeepsAtMostEightColumnsPerThread() throws {
        // Up to the student's width (768, 24 columns per lane): the warp-per-row kernel, 8 warps per part.
        let base = try #require(LaunchConfiguration.layerNormBackward(rows: 2 * 32 * 261, dim: 768))
        #expect(base == LaunchConfiguration(gridX: 261, blockX: 256) && base.isValid())
        #expect(LaunchConfiguration.layerNormBackward(rows: 1, dim: 64) == LaunchConfiguration(gridX: 1, blockX: 256))
        // Wider rows: one block per part, at most 8 columns per thread.
        #expect(LaunchConfiguration.layerNormBackward(rows: 100, dim: 769)?.blockX == 224)
        #expect(LaunchConfiguration.layerNormBackward(rows: 100, dim: 1536)?.blockX == 384)
        #expect(LaunchConfiguration.layerNormBackward(rows: 1, dim: 8192)?.blockX == 1024)
        #expect(LaunchConfiguration.layerNormBackward(rows: 1, dim: 8193) == nil)
    }

    @Test func warpRowKernels() {
        #expect(LaunchConfiguration.warpRows(0) == LaunchConfiguration(gridX: 1, blockX: 256))
        #expect(LaunchConfiguration.warpRows(131_072) == LaunchConfiguration(gridX: 16_384, blockX: 256))
        #expect(LaunchConfiguration.softmax(rows: 17) == LaunchConfiguration.warpRows(17))
        // The loss's long rows: one block per row of K prototypes.
        #expect(LaunchConfiguration.rows(819, dim: 131_072) == LaunchConfiguration(gridX: 819, blockX: 1024))
    }

    @Test func centerProjectionIsBounded() {
        // One warp per prototype at a time, 8 per block; each block sums the partials first, so the grid stops at 128.
        #expect(LaunchConfiguration.centerProjection(prototypes: 131_072) == LaunchConfiguration(gridX: 128, blockX: 256))
        #expect(LaunchConfiguration.centerProjection(prototypes: 512) == LaunchConfiguration(gridX: 64, blockX: 256))
        #expect(LaunchConfiguration.centerProjection(prototypes: 9) == LaunchConfiguration(gridX: 2, blockX: 256))
    }

    @Test func optimizerChunksStayInsideOneRangeAndGroupByModule() {
        // Backbone ranges 0 and 2 around a DINO-head range 1 (module 1), an empty range, chunks of 4.
        let ranges: [OptimizerChunkPlan.Range] = [
            .init(elements: 0..<10, group: 0, module: 0),
            .init(elements: 10..<13, group: 1, module: 1),
            .init(elements: 13..<13, group: 2, module: 0),
            .init(elements: 13..<21, group: 3, module: 0),
        ]
        let plan = OptimizerChunkPlan(ranges: ranges, moduleCount: 2, chunkElements: 4)
        #expect(plan.starts == [0, 4, 8, 13, 17, 10])
        #expect(plan.counts == [4, 4, 2, 4, 4, 3])
        #expect(plan.groups == [0, 0, 0, 3, 3, 1])
        #expect(plan.modules == [0, 0, 0, 0, 0, 1])
        #expect(plan.moduleOffsets == [0, 5, 6])
        #expect(plan.chunkLaunch == LaunchConfiguration(gridX: 6, blockX: 256))
        #expect(plan.moduleLaunch == LaunchConfiguration(gridX: 2, blockX: 256))
        // Every element exactly once.
        var seen = [Int](repeating: 0, count: 21)
        for (start, count) in zip(plan.starts, plan.counts) {
            for i in Int(start)..<(Int(start) + Int(count)) { seen[i] += 1 }
        }
        #expect(seen == [Int](repeating: 1, count: 21))
    }

    @Test func optimizerChunksOfAViTBSizedRange() {
        // blocks.0.mlp.fc1.weight of ViT-B/14: 3072 × 768 = 2,359,296 = 288 chunks of 8192.
        let plan = OptimizerChunkPlan(ranges: [.init(elements: 1000..<(1000 + 2_359_296), group: 7, module: 0)], moduleCount: 1)
        #expect(plan.chunkCount == 288 && plan.counts.allSatisfy { $0 == 8192 })
        #expect(plan.starts.last == 1000 + 287 * 8192 && plan.moduleOffsets == [0, 288])
        #expect(plan.chunkLaunch.isValid())
    }

    @Test func logitChunksFitTheBudget() {
        // The paper's iBOT pass: 2·32·256 patch rows × 131,072 prototypes in 1 GiB of chunk scratch.
        let ibot = LogitChunkPlan(rows: 16_384, prototypes: 131_072, budgetBytes: 1 << 30)
        #expect(ibot.rowsPerChunk == 819)
        #expect(ibot.scratchBytes == 819 * 131_072 * 10 && ibot.scratchBytes <= 1 << 30)
        let chunks = ibot.chunks
        #expect(chunks.count == 21 && chunks.first == 0..<819 && chunks.last == 16_380..<16_384)
        #expect(zip(chunks, chunks.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        // The DINO pass (2B = 64 teacher rows) fits whole.
        #expect(LogitChunkPlan(rows: 64, prototypes: 131_072, budgetBytes: 1 << 30).chunks == [0..<64])
        // A budget below one row still makes progress, one row at a time.
        #expect(LogitChunkPlan(rows: 3, prototypes: 1000, budgetBytes: 1).chunks == [0..<1, 1..<2, 2..<3])
        #expect(LogitChunkPlan(rows: 0, prototypes: 8, budgetBytes: 80).chunks.isEmpty)
    }

    @Test func dinoPairsAndWeights() {
        let pairing = CrossEntropyPairing(globalCrops: 2, localCrops: 8, batch: 32)
        #expect(pairing.terms == 18)
        #expect(pairing.dinoRowWeight == Float(1.0 / 576.0))
        #expect(pairing.teacherCrops(global: 0) == [1] && pairing.teacherCrops(global: 1) == [0])
        #expect(pairing.teacherCropsOfLocal == [0, 1])
        #expect(pairing.teacherOffset(crop: 1, image: 3, prototypes: 100) == 3500)
        #expect(CrossEntropyPairing(globalCrops: 3, localCrops: 0, batch: 1).terms == 6)
    }
}
