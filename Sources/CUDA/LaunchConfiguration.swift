/// A kernel's launch geometry: grid and block sizes (x only: every kernel here is one-dimensional) and dynamic
/// shared memory in bytes. Pure arithmetic, so it is tested without a GPU.
public struct LaunchConfiguration: Sendable, Hashable {
    public let gridX: Int
    public let blockX: Int
    public let sharedBytes: Int

    public init(gridX: Int, blockX: Int, sharedBytes: Int = 0) {
        self.gridX = gridX
        self.blockX = blockX
        self.sharedBytes = sharedBytes
    }

    /// The largest grid used for grid-stride loops: enough blocks to fill any current GPU many times over
    /// (132 SMs × 16 blocks of 256 threads on an H200 is 2,112), small enough that index arithmetic never nears
    /// `Int32.max` in the grid dimension.
    public static let maximumStrideGrid = 65_536
    /// Threads per block of the element-wise (grid-stride) kernels.
    public static let elementThreads = 256

    /// One thread per element of `count` elements with grid-stride loops: `⌈count / 256⌉` blocks, capped at
    /// `maximumStrideGrid` (the loop covers the rest); at least one block.
    public static func elementwise(count: Int) -> LaunchConfiguration {
        let blocks = (count + elementThreads - 1) / elementThreads
        return LaunchConfiguration(gridX: min(max(blocks, 1), maximumStrideGrid), blockX: elementThreads)
    }

    /// Block size of the one-block-per-row kernels (LayerNorm): a multiple of 32 covering `dim` in about 4
    /// elements per thread, between 32 and 1024.
    public static func rowThreads(dim: Int) -> Int {
        let perThread = 4
        let threads = (dim + perThread - 1) / perThread
        let warps = (threads + 31) / 32
        return min(max(warps, 1), 32) * 32
    }

    /// LayerNorm and the fused residual LayerNorm: one block per row.
    public static func rows(_ rows: Int, dim: Int) -> LaunchConfiguration {
        LaunchConfiguration(gridX: rows, blockX: rowThreads(dim: dim))
    }

    /// Threads per block of the row-loop kernels (im2col, token assembly, qkv split, head merge, bias + activation).
    public static let rowLoopThreads = 256

    /// One block per row, its threads striding over the row's columns (32-bit column arithmetic, no 64-bit division
    /// per element): grid `rows`, block 256.
    public static func rowLoop(_ rows: Int) -> LaunchConfiguration {
        LaunchConfiguration(gridX: max(rows, 1), blockX: rowLoopThreads)
    }

    /// Rows handled by one block of `softmax_rows` (one warp per row).
    public static let softmaxRowsPerBlock = 8

    /// `softmax_rows`: `⌈rows / 8⌉` blocks of 8 warps (`warpRows`).
    public static func softmax(rows: Int) -> LaunchConfiguration {
        warpRows(rows)
    }

    /// The one-warp-per-row kernels (`softmax_rows`, `softmax_backward_rows`, the head's `l2_normalize_*` and
    /// `weight_norm_*`): `⌈rows / 8⌉` blocks of 8 warps, at least one.
    public static func warpRows(_ rows: Int) -> LaunchConfiguration {
        LaunchConfiguration(gridX: max((rows + softmaxRowsPerBlock - 1) / softmaxRowsPerBlock, 1), blockX: 32 * softmaxRowsPerBlock)
    }

    /// `n` rounded up to a multiple of `multiple` (leading dimensions padded so bf16 rows start on 16-byte
    /// boundaries: `multiple` 8).
    public static func padded(_ n: Int, to multiple: Int = 8) -> Int {
        (n + multiple - 1) / multiple * multiple
    }

    /// Whether this configuration is launchable: grid 1 …2³¹−1, block a multiple of 32 in 32 … 1024, shared memory
    /// within `sharedLimit` bytes.
    public func isValid(sharedLimit: Int = 48 * 1024) -> Bool {
        gridX >= 1 && gridX <= Int(Int32.max) && blockX >= 32 && blockX <= 1024 && blockX % 32 == 0
            && sharedBytes >= 0 && sharedBytes <= sharedLimit
    }
}
