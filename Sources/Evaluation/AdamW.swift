/// AdamW (Loshchilov & Hutter, ICLR 2019) for one flat Float32 parameter buffer, written step for step as
/// torch.optim.AdamW's single-tensor path (`torch/optim/adamw.py` / `adam.py` `_single_tensor_adam`, the
/// path PyTorch takes for CPU tensors), so that probe runs track PyTorch's to rounding:
///
///     p ← p · (1 − lr·λ)
///     m ← m + (1 − β₁)(g − m)            (torch.lerp)
///     v ← v·β₂ + (1 − β₂)·g·g
///     p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
struct AdamW {
    let beta1: Double
    let beta2: Double
    let epsilon: Double
    let weightDecay: Double
    private(set) var step = 0
    private var m: [Float]
    private var v: [Float]

    init(count: Int, beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
    }

    /// One update of `parameters` with gradient `gradient` at learning rate `lr`.
    mutating func update(_ parameters: inout [Float], gradient: [Float], lr: Double) {
        step += 1
        let decay = Float(1 - lr * weightDecay)
        let lerpWeight = Float(1 - beta1)
        let b2 = Float(beta2), oneMinusB2 = Float(1 - beta2)
        let biasCorrection1 = 1 - pow(beta1, Double(step))
        let biasCorrection2Sqrt = (1 - pow(beta2, Double(step))).squareRoot()
        let stepSize = Float(-(lr / biasCorrection1))
        let correction = Float(biasCorrection2Sqrt)
        let eps = Float(epsilon)
        m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                parameters.withUnsafeMutableBufferPointer { p in
                    gradient.withUnsafeBufferPointer { g in
                        for i in 0 ..< p.count {
                            p[i] *= decay
                            // torch.lerp with weight < 0.5: start + weight · (end − start)
                            m[i] = m[i] + lerpWeight * (g[i] - m[i])
                            v[i] = v[i] * b2
                            v[i] = v[i] + oneMinusB2 * g[i] * g[i]
                            let denominator = v[i].squareRoot() / correction + eps
                            p[i] = p[i] + stepSize * m[i] / denominator
                        }
                    }
                }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
