import Compute
import Foundation

/// AdamW over one flat parameter buffer with a learning rate and weight decay per parameter range
/// (distillation-spec.md §5.3: `torch.optim.AdamW(param_groups, betas=(0.9, 0.999))`, eps 1e-8, amsgrad off),
/// step for step as PyTorch's update (`torch/optim/adamw.py`, `_single_tensor_adam` / `_multi_tensor_adam`):
///
///     p ← p · (1 − lr·λ)
///     m ← m + (1 − β₁)(g − m)                    (torch.lerp, weight < 0.5)
///     v ← v·β₂ + (1 − β₂)·g·g
///     p ← p − (lr/(1 − β₁ᵗ)) · m / (√v/√(1 − β₂ᵗ) + ε)
///
/// with `lr`, `λ` of each parameter from `ParameterGroups` and the iteration's schedule values. Every parameter
/// has a gradient at every step (none is skipped), so one step counter serves all. The same update for a
/// single group is Evaluation's `AdamW` (the linear probe's); the two could share a kernel.
public struct AdamW: Sendable, Equatable {
    /// β₁ (0.9), β₂ (0.999) and ε (1e-8).
    public let beta1: Double, beta2: Double, epsilon: Double
    /// Steps taken (t of the bias corrections).
    public private(set) var step = 0
    /// First and second moments, laid out as the parameter buffer.
    public private(set) var m: [Float], v: [Float]

    /// Zero moments for `count` parameters, or saved ones (`m`, `v`, `step`) to resume.
    public init(count: Int, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                m: [Float]? = nil, v: [Float]? = nil, step: Int = 0) {
        precondition((m?.count ?? count) == count && (v?.count ?? count) == count, "moments of the wrong size")
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.m = m ?? [Float](repeating: 0, count: count)
        self.v = v ?? [Float](repeating: 0, count: count)
        self.step = step
    }

    /// One update of `parameters` (`[table.count]`, host f32) with `gradients` (same layout) at the schedule
    /// values `values`, each range with its `groups` rule.
    /// - Precondition: the buffers and moments hold `table.count` elements; `groups` was made from `table`.
    public mutating func update(parameters: Tensor, gradients: Tensor, table: ParameterTable, groups: ParameterGroups,
                                values: TrainingSchedules.Values) {
        precondition(parameters.count == table.count && gradients.count == table.count && m.count == table.count,
                     "AdamW over \(table.count) parameters: buffers of \(parameters.count), \(gradients.count), \(m.count)")
        precondition(groups.rules.count == table.entries.count, "parameter groups made for another table")
        step += 1
        let biasCorrection1 = 1 - Foundation.pow(beta1, Double(step))
        let correction = Float((1 - Foundation.pow(beta2, Double(step))).squareRoot())
        let lerpWeight = Float(1 - beta1), b2 = Float(beta2), oneMinusB2 = Float(1 - beta2), eps = Float(epsilon)
        let p = parameters.floats, g = UnsafePointer(gradients.floats)
        m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                for (index, entry) in table.entries.enumerated() {
                    let (lr, weightDecay) = groups.settings(index, values)
                    let decay = Float(1 - lr * weightDecay)
                    let stepSize = Float(-(lr / biasCorrection1))
                    Self.update(entry.range, p: p, g: g, m: m.baseAddress!, v: v.baseAddress!, decay: decay,
                                lerpWeight: lerpWeight, beta2: b2, oneMinusBeta2: oneMinusB2, correction: correction,
                                epsilon: eps, stepSize: stepSize)
                }
            }
        }
    }

    /// The update of one parameter range, eight lanes at a time then element by element: the same operations in the
    /// same order on every element (so the same bits as an element-wise loop; IEEE √ and ÷ are exact-rounded on
    /// vectors too).
    @inline(__always)
    static func update(_ range: Range<Int>, p: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>,
                       m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, decay: Float, lerpWeight: Float,
                       beta2: Float, oneMinusBeta2: Float, correction: Float, epsilon: Float, stepSize: Float) {
        typealias V = SIMD8<Float>
        @inline(__always) func load(_ x: UnsafePointer<Float>, _ i: Int) -> V { UnsafeRawPointer(x + i).loadUnaligned(as: V.self) }
        @inline(__always) func store(_ value: V, _ x: UnsafeMutablePointer<Float>, _ i: Int) {
            UnsafeMutableRawPointer(x + i).storeBytes(of: value, as: V.self)
        }
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let gradient = load(g, i)
            let moment = load(m, i)
            let newMoment = moment + lerpWeight * (gradient - moment)
            var second = load(v, i) * beta2
            second = second + oneMinusBeta2 * gradient * gradient
            let denominator = second.squareRoot() / correction + epsilon
            let decayed = load(p, i) * decay
            store(decayed + stepSize * (newMoment / denominator), p, i)
            store(newMoment, m, i)
            store(second, v, i)
            i += 8
        }
        while i < range.upperBound {
            p[i] *= decay
            m[i] = m[i] + lerpWeight * (g[i] - m[i])
            v[i] = v[i] * beta2
            v[i] = v[i] + oneMinusBeta2 * g[i] * g[i]
            let denominator = v[i].squareRoot() / correction + epsilon
            p[i] = p[i] + stepSize * (m[i] / denominator)
            i += 1
        }
    }
}
