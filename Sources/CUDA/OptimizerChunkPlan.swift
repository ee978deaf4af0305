/// How the optimiser kernels (`optimizer.cu`: `gradient_square_partials`, `clip_scales`, `adamw_step`) cover the
/// flat parameter buffer: chunks of at most `chunkElements` consecutive parameters, each inside one parameter range,
/// so a chunk has one lr/weight-decay group (its range's index in the `ParameterTable`) and one module (backbone,
/// DINO head, iBOT head, projector: the clipping groups of `GradientClipping.clipPerModule`). Chunks are ordered
/// module by module, so module `j`'s chunks are `moduleOffsets[j] ..< moduleOffsets[j + 1]` and its squared norm is
/// the sum of their partials. Pure arithmetic: the arrays are uploaded once per model (int64 starts, int32 rest).
public struct OptimizerChunkPlan: Sendable, Equatable {
    /// One parameter range: its elements, its lr/weight-decay group and its module index (`0 ..< modules`).
    public struct Range: Sendable, Equatable {
        public let elements: Swift.Range<Int>
        public let group: Int
        public let module: Int

        public init(elements: Swift.Range<Int>, group: Int, module: Int) {
            self.elements = elements
            self.group = group
            self.module = module
        }
    }

    /// Parameters per chunk at most (one block of 256 threads, 32 elements each).
    public static let defaultChunkElements = 8192

    /// First element of each chunk in the flat buffer.
    public let starts: [Int64]
    /// Elements of each chunk (1 … chunkElements).
    public let counts: [Int32]
    /// The group (range index) of each chunk: the index into the per-group decay and step arrays.
    public let groups: [Int32]
    /// The module of each chunk: the index into the clip scales.
    public let modules: [Int32]
    /// `moduleOffsets[j] ..< moduleOffsets[j + 1]`: module `j`'s chunks; `modules + 1` entries.
    public let moduleOffsets: [Int32]

    /// Chunks of `ranges` (empty ranges get none) for `moduleCount` modules.
    /// - Precondition: every module index is in `0 ..< moduleCount`; `chunkElements > 0`.
    public init(ranges: [Range], moduleCount: Int, chunkElements: Int = defaultChunkElements) {
        precondition(chunkElements > 0, "chunkElements must be positive")
        precondition(ranges.allSatisfy { (0..<moduleCount).contains($0.module) }, "a range's module is out of 0..<\(moduleCount)")
        var starts: [Int64] = [], counts: [Int32] = [], groups: [Int32] = [], modules: [Int32] = []
        var offsets: [Int32] = [0]
        for module in 0..<moduleCount {
            for range in ranges where range.module == module {
                var start = range.elements.lowerBound
                while start < range.elements.upperBound {
                    let count = min(chunkElements, range.elements.upperBound - start)
                    starts.append(Int64(start))
                    counts.append(Int32(count))
                    groups.append(Int32(range.group))
                    modules.append(Int32(module))
                    start += count
                }
            }
            offsets.append(Int32(starts.count))
        }
        self.starts = starts
        self.counts = counts
        self.groups = groups
        self.modules = modules
        moduleOffsets = offsets
    }

    /// Number of chunks (the grid of the per-chunk kernels).
    public var chunkCount: Int { starts.count }

    /// `gradient_square_partials` and `adamw_step`: one block of 256 threads per chunk.
    public var chunkLaunch: LaunchConfiguration {
        LaunchConfiguration(gridX: max(chunkCount, 1), blockX: LaunchConfiguration.elementThreads)
    }

    /// `clip_scales`: one block of 256 threads per module.
    public var moduleLaunch: LaunchConfiguration {
        LaunchConfiguration(gridX: max(moduleOffsets.count - 1, 1), blockX: LaunchConfiguration.elementThreads)
    }
}
