/// Launch geometry of the training kernels (docs/cuda.md, "Part 2"): the two-stage column reductions behind every
/// bias, LayerNorm and LayerScale parameter gradient and the centres' sums.
extension LaunchConfiguration {
    /// Rows summed by one block of the column-partial kernels (`column_partial_sums_*`, `layer_norm_backward_*`,
    /// `layer_scale_backward`): enough rows per block that the partials `[parts, cols]` stay small
    /// (a paper step's 2·32·261 global-crop token rows give 261 parts), enough parts to spread over the GPU's SMs.
    public static let rowsPerPart = 64

    /// Columns one thread of `layer_norm_backward_*` keeps in registers (its dγ/dβ partial sums), the kernel's
    /// `LN_BACKWARD_COLUMNS`.
    public static let layerNormBackwardColumnsPerThread = 8

    /// Parts of `rows` rows: `⌈rows / rowsPerPart⌉`, at least 1 — the first dimension of the partials buffer.
    public static func parts(rows: Int, rowsPerPart: Int = rowsPerPart) -> Int {
        max((rows + rowsPerPart - 1) / rowsPerPart, 1)
    }

    /// `column_partial_sums_*` and `layer_scale_backward`: one block of 256 threads per part, threads striding over
    /// the columns.
    public static func columnParts(rows: Int, rowsPerPart: Int = rowsPerPart) -> LaunchConfiguration {
        LaunchConfiguration(gridX: parts(rows: rows, rowsPerPart: rowsPerPart), blockX: rowLoopThreads)
    }

    /// `center_accumulate_projected`: blocks of 8 warps, one prototype per warp at a time, at most
    /// `centerProjectionBlocks` blocks (each first sums the partials, so more blocks would only repeat that).
    public static func centerProjection(prototypes: Int) -> LaunchConfiguration {
        LaunchConfiguration(gridX: min(max((prototypes + 7) / 8, 1), centerProjectionBlocks), blockX: 256)
    }

    /// The grid bound of `center_accumulate_projected` (about one block per SM of an H100/H200).
    public static let centerProjectionBlocks = 128
    /// Widest bottleneck `center_accumulate_projected` takes (its shared f64 sums, `CENTER_MAX_BOTTLENECK`).
    public static let centerProjectionMaxBottleneck = 1024

    /// Widest row of `layer_norm_backward_warps_*` (24 columns per lane).
    public static let layerNormBackwardWarpColumns = 768
    /// Threads of `layer_norm_backward_warps_*`: 8 warps, one row each at a time.
    public static let layerNormBackwardWarpThreads = 256

    /// `layer_norm_backward_*`: one block per part of rows — for `dim ≤ 768` the warp-per-row kernel
    /// (`layerNormBackwardWarpThreads`), else `rowThreads(dim:)` threads (the forward's row block); nil when one thread
    /// would own more than `layerNormBackwardColumnsPerThread` columns (dim > 8,192).
    public static func layerNormBackward(rows: Int, dim: Int, rowsPerPart: Int = rowsPerPart) -> LaunchConfiguration? {
        if dim <= layerNormBackwardWarpColumns {
            return LaunchConfiguration(gridX: parts(rows: rows, rowsPerPart: rowsPerPart), blockX: layerNormBackwardWarpThreads)
        }
        let threads = rowThreads(dim: dim)
        guard dim <= threads * layerNormBackwardColumnsPerThread else { return nil }
        return LaunchConfiguration(gridX: parts(rows: rows, rowsPerPart: rowsPerPart), blockX: threads)
    }
}
