import Compute
@testable import Models
import Testing

/// Finite-difference gradient checks: the loss `L = Σ_j w_j·f(x)_j` with fixed random weights `w` (so
/// dL/df = w), its gradient by central differences in Double on the reference forward, against the analytic
/// gradient of the Float32 backward kernels.
///
/// Tolerance: the central difference in Double with step 1e-6 is exact to ~1e-9 relative (truncation h² ≈ 1e-12,
/// rounding 1e-16/h ≈ 1e-10), so the whole difference is the float32 kernels' rounding: sums of a few hundred
/// float32 products at ε = 6e-8 each, plus the vectorised `exp`/`erf` (≤ 3e-7 and 6e-7). Measured worst errors are
/// ≤ 1.1e-6 of the gradient's largest element (every kernel and every parameter of the whole student);
/// `tolerance` 1e-5 sits ten times above that and far below what a wrong formula gives (the planted q/k swap
/// and SwiGLU-half mistakes give 0.49 and 0.76: a wrong term or index is O(1) of the gradient).
enum GradientCheck {
    static let tolerance = 1e-5
    static let step = 1e-6

    /// Deterministic values uniform in ±`scale` (+ `center`), rounded to Float so both sides see the same inputs.
    static func values(_ count: Int, seed: UInt64, scale: Double = 1, center: Double = 0) -> [Double] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in Double(Float(center + scale * (2 * Double(generator.next() >> 11) * 0x1p-53 - 1))) }
    }

    /// dL/dx for input `index` of `inputs` by central differences of `L = Σ w·f(inputs)`.
    static func numericGradient(_ f: ([[Double]]) -> [Double], at inputs: [[Double]], weights: [Double], input index: Int) -> [Double] {
        var perturbed = inputs
        return (0..<inputs[index].count).map { element in
            let original = inputs[index][element]
            perturbed[index][element] = original + step
            let plus = zip(f(perturbed), weights).map { $0 * $1 }.reduce(0, +)
            perturbed[index][element] = original - step
            let minus = zip(f(perturbed), weights).map { $0 * $1 }.reduce(0, +)
            perturbed[index][element] = original
            return (plus - minus) / (2 * step)
        }
    }

    /// Largest |analytic − numeric| relative to the largest |numeric|.
    static func relativeError(_ analytic: [Float], _ numeric: [Double]) -> Double {
        precondition(analytic.count == numeric.count, "\(analytic.count) analytic vs \(numeric.count) numeric values")
        let scale = numeric.map(abs).max() ?? 0
        let worst = zip(analytic, numeric).map { abs(Double($0) - $1) }.max() ?? 0
        return worst / max(scale, 1e-30)
    }

    /// Expects `analytic` to match central differences of input `index`, and the gradient not to be all zeros.
    static func expectMatches(_ name: String, analytic: [Float], _ f: ([[Double]]) -> [Double], at inputs: [[Double]],
                              weights: [Double], input index: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let numeric = numericGradient(f, at: inputs, weights: weights, input: index)
        let error = relativeError(analytic, numeric)
        #expect(error <= tolerance, "\(name): relative error \(error)", sourceLocation: sourceLocation)
        #expect(numeric.contains { abs($0) > 1e-6 }, "\(name): the gradient is zero, so the check proves nothing", sourceLocation: sourceLocation)
    }

    /// The largest |a − b| relative to the largest |b| (for forward comparisons).
    static func forwardError(_ actual: [Float], _ expected: [Double]) -> Double { relativeError(actual, expected) }
}

extension Tensor {
    /// A host tensor of Double values rounded to Float.
    convenience init(shape: [Int], doubles: [Double]) {
        self.init(shape: shape, values: doubles.map(Float.init))
    }
}
