import Testing
@testable import CUDA

/// Grid and block sizes, padding, matmul shapes and pool size classes: the arithmetic behind every launch.
@Suite struct LaunchArithmeticTests {
    @Test func elementwiseGrids() {
        #expect(LaunchConfiguration.elementwise(count: 0) == LaunchConfiguration(gridX: 1, blockX: 256))
        #expect(LaunchConfiguration.elementwise(count: 256).gridX == 1)
        #expect(LaunchConfiguration.elementwise(count: 257).gridX == 2)
        // ViT-g/14 hidden activations at batch 256: 256·261·8192 elements, capped (grid-stride loop covers the rest).
        #expect(LaunchConfiguration.elementwise(count: 256 * 261 * 8192).gridX == 65_536)
        #expect(LaunchConfiguration.elementwise(count: 1000).isValid())
    }

    @Test func rowKernelsCoverTheRowInWarps() {
        #expect(LaunchConfiguration.rowThreads(dim: 64) == 32)
        #expect(LaunchConfiguration.rowThreads(dim: 768) == 192)
        #expect(LaunchConfiguration.rowThreads(dim: 1536) == 384)
        #expect(LaunchConfiguration.rowThreads(dim: 100_000) == 1024)
        #expect(LaunchConfiguration.rowThreads(dim: 1) == 32)
        let rows = LaunchConfiguration.rows(256 * 261, dim: 1536)
        #expect(rows.gridX == 66_816 && rows.blockX == 384 && rows.sharedBytes == 0 && rows.isValid())
    }

    @Test func softmaxHasOneWarpPerRow() {
        #expect(LaunchConfiguration.softmax(rows: 17) == LaunchConfiguration(gridX: 3, blockX: 256))
        #expect(LaunchConfiguration.softmax(rows: 256 * 24 * 261).gridX == 200_448)
    }

    @Test func paddingAndValidity() {
        #expect(LaunchConfiguration.padded(261) == 264)
        #expect(LaunchConfiguration.padded(588) == 592)
        #expect(LaunchConfiguration.padded(64) == 64)
        #expect(!LaunchConfiguration(gridX: 0, blockX: 256).isValid())
        #expect(!LaunchConfiguration(gridX: 1, blockX: 100).isValid())
        #expect(!LaunchConfiguration(gridX: 1, blockX: 2048).isValid())
        #expect(!LaunchConfiguration(gridX: 1, blockX: 256, sharedBytes: 49_153).isValid())
        #expect(LaunchConfiguration(gridX: 1, blockX: 256, sharedBytes: 49_153).isValid(sharedLimit: 232_448))
    }

    @Test func matmulShapesInColumnMajorTerms() {
        let qkv = MatmulShape.linear(rows: 261 * 4, inFeatures: 768, outFeatures: 2304, bias: true)
        #expect(qkv.transA && !qkv.transB && qkv.m == 2304 && qkv.n == 1044 && qkv.k == 768)
        #expect(qkv.storedA == (768, 2304) && qkv.storedB == (768, 1044))
        #expect(qkv.spanA == 768 * 2304 && qkv.spanB == 768 * 1044 && qkv.spanD == 2304 * 1044)
        #expect(qkv.isValid)
        let scores = MatmulShape.attentionScores(tokens: 261, headDim: 64, ldScores: 264, pairs: 48)
        #expect(scores.m == 261 && scores.n == 261 && scores.k == 64 && scores.outputF32 && scores.batch == 48)
        #expect(scores.spanD == 47 * 261 * 264 + 264 * 260 + 261 && scores.spanD <= 48 * 261 * 264)
        #expect(scores.spanA == 48 * 261 * 64 && scores.isValid)
        let values = MatmulShape.attentionValues(tokens: 261, headDim: 64, ldProbabilities: 264, pairs: 48)
        #expect(!values.transA && !values.transB && values.m == 64 && values.n == 261 && values.k == 261)
        #expect(values.spanB == 47 * 261 * 264 + 264 * 260 + 261 && values.spanD == 48 * 261 * 64 && values.isValid)
        var bad = qkv
        bad.ldd = 100
        #expect(!bad.isValid)
    }

    @Test func poolSizeClasses() {
        #expect(DeviceMemoryPool.sizeClass(bytes: 1) == 512)
        #expect(DeviceMemoryPool.sizeClass(bytes: 512) == 512)
        #expect(DeviceMemoryPool.sizeClass(bytes: 513) == 1024)
        #expect(DeviceMemoryPool.sizeClass(bytes: 1 << 20) == 1 << 20)
        #expect(DeviceMemoryPool.sizeClass(bytes: (1 << 20) + 1) == 2 << 20)
        #expect(DeviceMemoryPool.sizeClass(bytes: 3 << 20) == 4 << 20)
        // ViT-g/14's f32 residual stream at batch 256: 66,816 × 1536 × 4 bytes = 195.75 × 2 MiB → 196 × 2 MiB.
        #expect(DeviceMemoryPool.sizeClass(bytes: 410_517_504) == 196 * (2 << 20))
    }

    @Test func kernelArgumentsArePackedAsTheirCTypes() {
        let arguments: [KernelArgument] = [.pointer(0x7f00_1234_5678), .int(-3), .long(1 << 40), .float(0.5)]
        KernelArgument.withParameters(arguments) { parameters in
            #expect(parameters[0]!.load(as: UInt64.self) == 0x7f00_1234_5678)
            #expect(parameters[1]!.load(as: Int32.self) == -3)
            #expect(parameters[2]!.load(as: Int64.self) == 1 << 40)
            #expect(parameters[3]!.load(as: Float.self) == 0.5)
        }
    }

    @Test func splittingXNormDropsTheRegisters() {
        // B = 2, L = 1 + 2 registers + 3 patches, D = 2: token t of image b holds (100b + t, −(100b + t)).
        var tokens: [Float] = []
        for b in 0..<2 {
            for t in 0..<6 {
                let value = Float(100 * b + t)
                tokens += [value, -value]
            }
        }
        let (cls, patches) = CUDAViTForward.split(tokens, batch: 2, length: 6, prefix: 3, dim: 2)
        #expect(cls == [0, 0, 100, -100])
        #expect(patches == [3, -3, 4, -4, 5, -5, 103, -103, 104, -104, 105, -105])
    }
}

/// Operand alignment as the cuBLASLt preference states it.
@Suite struct MatmulAlignmentTests {
    @Test func alignmentIsTheLargestPowerOfTwoUpTo256() {
        #expect(MatmulPlan.alignment(0x7f00_0000_0000, strideBytes: 0) == 256)
        #expect(MatmulPlan.alignment(0x7f00_0000_0080, strideBytes: 0) == 128)
        // vit-tiny-gelu (D = 96): parameter views start at multiples of 96 bf16 = 192 bytes.
        #expect(MatmulPlan.alignment(0x7f00_0000_0000 + 192, strideBytes: 0) == 64)
        // Per-(image, head) batches of [261, 64] bf16: 33,408-byte strides.
        #expect(MatmulPlan.alignment(0x7f00_0000_0000, strideBytes: 261 * 64 * 2) == 128)
        // Scores [261, 264] f32: 275,616-byte strides.
        #expect(MatmulPlan.alignment(0x7f00_0000_0000, strideBytes: 261 * 264 * 4) == 32)
        #expect(MatmulPlan.alignment(0x7f00_0000_0002, strideBytes: 0) == 2)
    }
}

/// The row-loop kernels' geometry.
@Suite struct RowLoopTests {
    @Test func oneBlockOfThreadsPerRow() {
        #expect(LaunchConfiguration.rowLoop(256 * 261) == LaunchConfiguration(gridX: 66_816, blockX: 256))
        #expect(LaunchConfiguration.rowLoop(0).gridX == 1)
        #expect(LaunchConfiguration.rowLoop(512 * 256).isValid())
    }
}
