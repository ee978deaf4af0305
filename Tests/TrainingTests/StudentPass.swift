import Compute
import Training

/// Drives one `Student` pass for the tests in the order a loss would (docs/training.md): forward, every head's
/// logits and their given upstream gradients in row chunks of `chunk`, the given feature gradients, backward.
enum StudentPass {
    struct Upstream {
        /// dL/d(DINO logits) `[local + global, K]`, dL/d(iBOT logits) `[global·N, K]`, dL/d`x_norm` of each crop size.
        var dino, ibot, globalFeatures, localFeatures: Tensor?
    }

    /// Runs the pass; gradients accumulate into `student.gradients`.
    /// - Returns: the DINO and iBOT logits.
    static func run(_ student: Student, _ a: StudentActivations, upstream: Upstream, chunk: Int) throws -> (dino: Tensor?, ibot: Tensor?) {
        let backend = student.backend
        try student.forward(a)
        var logits: [Tensor?] = []
        for (name, rows, gradient) in [("dino_head", a.dino, upstream.dino), ("ibot_head", a.ibot, upstream.ibot)] {
            guard let head = student.heads[name], let rows, let gradient else {
                logits.append(nil)
                continue
            }
            let k = head.config.prototypes
            let output = backend.makeTensor(shape: [rows.rows, k])
            for start in stride(from: 0, to: rows.rows, by: chunk) {
                let range = start..<min(rows.rows, start + chunk)
                head.logits(rows: range, output: output.view(offset: start * k, shape: [range.count, k]), rows)
                head.backwardLogits(rows: range, logitsGradient: gradient.view(offset: start * k, shape: [range.count, k]), rows)
            }
            logits.append(output)
        }
        for (pass, gradient) in [(a.global, upstream.globalFeatures), (a.local, upstream.localFeatures)] {
            if let pass, let gradient { backend.copy(from: gradient, to: pass.outputGradient, count: gradient.count) }
        }
        student.backward(a)
        return (logits[0], logits[1])
    }
}
