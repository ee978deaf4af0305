import Compute

/// Gradient-norm clipping per student sub-module (distillation-spec.md §5.4; DINOv2 `train.py`:
/// `for v in model.student.values(): v.clip_grad_norm_(3.0)`), each module as `torch.nn.utils.clip_grad_norm_`:
///
///     n = ‖concat(gradients of the module)‖₂,   c = maxNorm / (n + 1e-6),   gradients ×= min(c, 1)
///
/// One clip over all parameters together is not the same thing: each module is clipped on its own norm.
public enum GradientClipping {
    /// Clips `gradients` (`[table.count]`, host f32) module by module.
    /// - Returns: each module's gradient norm before clipping (what DINOv2 would log as the grad norm).
    @discardableResult
    public static func clipPerModule(gradients: Tensor, table: ParameterTable,
                                     maxNorm: Double = 3.0) -> [StudentModule: Double] {
        precondition(gradients.count == table.count, "gradients of \(gradients.count) for \(table.count) parameters")
        var norms: [StudentModule: Double] = [:]
        for module in table.modules {
            norms[module] = clip(gradients: gradients, ranges: table.entries(of: module).map(\.range), maxNorm: maxNorm)
        }
        return norms
    }

    /// Clips the union of `ranges` of `gradients` to `maxNorm` as one group; returns its norm before clipping.
    @discardableResult
    public static func clip(gradients: Tensor, ranges: [Range<Int>], maxNorm: Double) -> Double {
        let g = gradients.floats
        var squares = 0.0
        for range in ranges {
            squares += RowReductions.dot(UnsafePointer(g + range.lowerBound), UnsafePointer(g + range.lowerBound), range.count)
        }
        let norm = squares.squareRoot()
        // float32 as PyTorch: clip_coef = max_norm / (total_norm + 1e-6), clamped to 1.
        let coefficient = Float(maxNorm) / (Float(norm) + 1e-6)
        if coefficient < 1 {
            for range in ranges {
                for i in range { g[i] *= coefficient }
            }
        }
        return norm
    }
}
