#if canImport(Glibc)
import Glibc
#endif

/// eva's offline linear probe (`evaluation-spec.md` §2.3; kaiko-ai/eva@71a2e18 `configs/vision/pathology/
/// offline/classification/*.yaml`, `HeadModule`): a `Linear(D, C)` head on frozen embeddings (one logit
/// with BCE-with-logits for 2 classes, softmax cross-entropy otherwise), AdamW (lr 3e-4, weight decay 0.01,
/// betas (0.9, 0.999), eps 1e-8) on shuffled batches of 256 (the last one partial), the learning-rate schedule
/// stepped once per epoch, validation after every epoch, early stopping on eva's balanced accuracy (mode max,
/// min_delta 0, patience in epochs), and the best checkpoint (the first epoch reaching the maximum) scored on
/// validation and test. Training also stops after `maxSteps` optimizer steps; a partial last epoch is not
/// validated (Lightning validates at epoch ends). Several runs give mean ± sample std (ddof = 1).
///
/// Randomness is SplitMix64 seeded with `seed + run`: first the head's initial weights and bias, each
/// U(−1/√D, 1/√D) like `nn.Linear`'s default, row-major; then one permutation of the training rows per epoch
/// (`SplitMix64.permutation`). tools/fixtures/make_probe_fixture.py runs the same protocol in PyTorch with
/// the same draws.
public struct LinearProbe: Sendable {
    /// The protocol's settings.
    public struct Configuration: Sendable, Equatable, Codable {
        /// AdamW learning rate (eva: 3e-4).
        public var learningRate = 3e-4
        /// AdamW decoupled weight decay (torch default, 0.01).
        public var weightDecay = 0.01
        /// AdamW β₁.
        public var beta1 = 0.9
        /// AdamW β₂.
        public var beta2 = 0.999
        /// AdamW ε.
        public var epsilon = 1e-8
        /// Batch size (eva: 256).
        public var batchSize = 256
        /// Optimizer steps at most (eva: 12,500).
        public var maxSteps = 12_500
        /// Epochs without improvement of the validation metric before stopping (eva EV25: CRC 24, MHIST 70,
        /// PCam 9, BACH 400).
        public var patience = 24
        /// Learning-rate schedule over epochs (eva EV25: cosine with T_max 12,500).
        public var schedule = ProbeSchedule.ev25
        /// Independent fits (eva: 5).
        public var runs = 5
        /// Seed of run 0 (run r uses seed + r; eva's global seed is 42).
        public var seed: UInt64 = 42

        /// eva's EV25 settings.
        public init() {}
    }

    /// One fit.
    public struct Run: Sendable, Equatable, Codable {
        /// Run index.
        public var run: Int
        /// Its seed.
        public var seed: UInt64
        /// Optimizer steps taken.
        public var steps: Int
        /// Epochs validated.
        public var epochs: Int
        /// The epoch (0-based) of the best checkpoint.
        public var bestEpoch: Int
        /// Validation balanced accuracy after each validated epoch.
        public var validationCurve: [Double]
        /// Validation scores of the best checkpoint.
        public var validation: ClassificationScores
        /// Test scores of the best checkpoint (nil without a test split).
        public var test: ClassificationScores?
        /// The best checkpoint's head: weight [C', D] row-major then bias [C'] (C' = 1 for 2 classes).
        public var head: [Float]
    }

    /// The settings.
    public var configuration: Configuration

    /// A probe with the given settings.
    public init(configuration: Configuration = Configuration()) { self.configuration = configuration }

    /// Fits `configuration.runs` heads and scores them.
    /// - Parameters:
    ///   - train: train embeddings [N, D] and classes [N] in 0..<classes.
    ///   - validation: the split for early stopping and checkpoint choice (eva uses the official validation
    ///     split, or the test split of tasks that have no other).
    ///   - test: an optional held-out split scored with the best checkpoint.
    ///   - classes: C ≥ 2.
    /// - Throws: `EvaluationError` for mismatched shapes, out-of-range classes or bad settings.
    public func fit(train: (FeatureMatrix<Float>, [Int]), validation: (FeatureMatrix<Float>, [Int]),
                    test: (FeatureMatrix<Float>, [Int])? = nil, classes: Int) throws(EvaluationError) -> LinearProbeReport {
        guard classes >= 2 else { throw EvaluationError("linear probe needs at least 2 classes, got \(classes)") }
        guard configuration.batchSize >= 1, configuration.maxSteps >= 1, configuration.patience >= 1,
              configuration.runs >= 1 else {
            throw EvaluationError("linear probe: batch size, max steps, patience and runs must be ≥ 1")
        }
        for (name, split) in [("train", train), ("validation", validation)] + (test.map { [("test", $0)] } ?? []) {
            try Self.check(split, name: name, classes: classes, dimension: train.0.columns)
        }
        let runs = try (0 ..< configuration.runs).map { run throws(EvaluationError) in
            try fitOnce(run: run, train: train, validation: validation, test: test, classes: classes)
        }
        return LinearProbeReport(configuration: configuration, classes: classes, dimension: train.0.columns,
                                 trainCount: train.0.rows, validationCount: validation.0.rows, testCount: test?.0.rows,
                                 runs: runs)
    }

    private static func check(_ split: (FeatureMatrix<Float>, [Int]), name: String, classes: Int,
                              dimension: Int) throws(EvaluationError) {
        guard split.0.rows == split.1.count else {
            throw EvaluationError("linear probe: \(name) has \(split.0.rows) embeddings but \(split.1.count) labels")
        }
        guard split.0.rows > 0 else { throw EvaluationError("linear probe: \(name) split is empty") }
        guard split.0.columns == dimension else {
            throw EvaluationError("linear probe: \(name) dimension \(split.0.columns) differs from train's \(dimension)")
        }
        if let bad = split.1.firstIndex(where: { !(0 ..< classes).contains($0) }) {
            throw EvaluationError("linear probe: \(name) row \(bad) has class \(split.1[bad]) outside 0..<\(classes)")
        }
    }

    private func fitOnce(run: Int, train: (FeatureMatrix<Float>, [Int]), validation: (FeatureMatrix<Float>, [Int]),
                         test: (FeatureMatrix<Float>, [Int])?, classes: Int) throws(EvaluationError) -> Run {
        let config = configuration
        let seed = config.seed &+ UInt64(run)
        var rng = SplitMix64(seed: seed)
        let d = train.0.columns
        let outputs = classes == 2 ? 1 : classes
        let bound = 1 / Double(d).squareRoot()
        var parameters = (0 ..< outputs * d + outputs).map { _ in Float(rng.symmetric() * bound) }
        var optimizer = AdamW(count: parameters.count, beta1: config.beta1, beta2: config.beta2,
                              epsilon: config.epsilon, weightDecay: config.weightDecay)
        let n = train.0.rows
        var batch = [Float](repeating: 0, count: min(config.batchSize, n) * d)
        var logits = [Float](repeating: 0, count: min(config.batchSize, n) * outputs)
        var gradient = [Float](repeating: 0, count: parameters.count)

        var steps = 0, epoch = 0, wait = 0
        var best = -Double.infinity, bestEpoch = 0
        var bestParameters = parameters
        var curve = [Double]()
        training: while steps < config.maxSteps {
            let lr = config.schedule.rate(epoch: epoch, base: config.learningRate)
            let order = rng.permutation(n)
            var start = 0
            while start < n {
                let rows = Array(order[start ..< min(n, start + config.batchSize)])
                start += rows.count
                Self.gather(train.0, rows: rows, into: &batch)
                Self.forward(batch: batch, count: rows.count, dimension: d, outputs: outputs, parameters: parameters, logits: &logits)
                Self.lossGradient(logits: &logits, labels: rows.map { train.1[$0] }, outputs: outputs)
                Self.backward(batch: batch, count: rows.count, dimension: d, outputs: outputs, logitGradient: logits,
                         gradient: &gradient)
                optimizer.update(&parameters, gradient: gradient, lr: lr)
                steps += 1
                if steps >= config.maxSteps && start < n { break training }
            }
            let score = scores(validation, parameters: parameters, dimension: d, outputs: outputs, classes: classes)
            curve.append(score.balancedAccuracy)
            if score.balancedAccuracy > best {
                best = score.balancedAccuracy
                bestEpoch = epoch
                bestParameters = parameters
                wait = 0
            } else {
                wait += 1
                if wait >= config.patience { break }
            }
            epoch += 1
        }
        if curve.isEmpty {
            // max_steps ended inside the first epoch: no checkpoint was chosen, the final head is used.
            bestParameters = parameters
        }
        return Run(run: run, seed: seed, steps: steps, epochs: curve.count, bestEpoch: bestEpoch, validationCurve: curve,
                   validation: scores(validation, parameters: bestParameters, dimension: d, outputs: outputs, classes: classes),
                   test: test.map { scores($0, parameters: bestParameters, dimension: d, outputs: outputs, classes: classes) },
                   head: bestParameters)
    }

    /// Predicted classes of a split with a head (logit > 0 for the binary head, argmax otherwise, first
    /// maximum on ties).
    static func predict(_ x: FeatureMatrix<Float>, parameters: [Float], outputs: Int) -> [Int] {
        let d = x.columns
        var logits = [Float](repeating: 0, count: x.rows * outputs)
        forward(batch: x.values, count: x.rows, dimension: d, outputs: outputs, parameters: parameters, logits: &logits)
        return (0 ..< x.rows).map { i in
            if outputs == 1 { return logits[i] > 0 ? 1 : 0 }
            var winner = 0
            for c in 1 ..< outputs where logits[i * outputs + c] > logits[i * outputs + winner] { winner = c }
            return winner
        }
    }

    private func scores(_ split: (FeatureMatrix<Float>, [Int]), parameters: [Float], dimension: Int, outputs: Int,
                        classes: Int) -> ClassificationScores {
        let predicted = Self.predict(split.0, parameters: parameters, outputs: outputs)
        return ClassificationScores(ConfusionMatrix(truth: split.1, predicted: predicted, classes: classes))
    }

    private static func gather(_ x: FeatureMatrix<Float>, rows: [Int], into batch: inout [Float]) {
        let d = x.columns
        x.withUnsafeBufferPointer { source in
            batch.withUnsafeMutableBufferPointer { target in
                for (slot, row) in rows.enumerated() {
                    for j in 0 ..< d { target[slot * d + j] = source[row * d + j] }
                }
            }
        }
    }

    /// logits [count, outputs] = batch [count, D] · Wᵀ + b.
    private static func forward(batch: [Float], count: Int, dimension d: Int, outputs: Int, parameters: [Float],
                         logits: inout [Float]) {
        parameters.withUnsafeBufferPointer { p in
            batch.withUnsafeBufferPointer { x in
                logits.withUnsafeMutableBufferPointer { z in
                    for i in 0 ..< count { for c in 0 ..< outputs { z[i * outputs + c] = p[outputs * d + c] } }
                    Float.gemm(transposeA: false, transposeB: true, m: count, n: outputs, k: d, alpha: 1, a: x.baseAddress!,
                               lda: d, b: p.baseAddress!, ldb: d, beta: 1, c: z.baseAddress!, ldc: outputs)
                }
            }
        }
    }

    /// Replaces the logits by ∂loss/∂logits of the batch-mean loss: (softmax − onehot)/B for cross-entropy
    /// (softmax as exp(log_softmax), as PyTorch's backward computes it), (σ(z) − y)/B for BCE-with-logits.
    private static func lossGradient(logits: inout [Float], labels: [Int], outputs: Int) {
        let count = Float(labels.count)
        for (i, label) in labels.enumerated() {
            if outputs == 1 {
                let z = logits[i]
                let sigmoid = 1 / (1 + expf(-z))
                logits[i] = (sigmoid - Float(label)) / count
                continue
            }
            let row = i * outputs
            var maximum = logits[row]
            for c in 1 ..< outputs { maximum = max(maximum, logits[row + c]) }
            var sum: Float = 0
            for c in 0 ..< outputs { sum += expf(logits[row + c] - maximum) }
            let logSum = logf(sum)
            for c in 0 ..< outputs {
                let probability = expf(logits[row + c] - maximum - logSum)
                logits[row + c] = (probability - (c == label ? 1 : 0)) / count
            }
        }
    }

    /// gradient = [∂W = Gᵀ · batch (outputs × D), ∂b = Σ rows of G].
    private static func backward(batch: [Float], count: Int, dimension d: Int, outputs: Int, logitGradient: [Float],
                          gradient: inout [Float]) {
        gradient.withUnsafeMutableBufferPointer { g in
            batch.withUnsafeBufferPointer { x in
                logitGradient.withUnsafeBufferPointer { z in
                    Float.gemm(transposeA: true, transposeB: false, m: outputs, n: d, k: count, alpha: 1, a: z.baseAddress!,
                               lda: outputs, b: x.baseAddress!, ldb: d, beta: 0, c: g.baseAddress!, ldc: d)
                    for c in 0 ..< outputs {
                        var sum: Float = 0
                        for i in 0 ..< count { sum += z[i * outputs + c] }
                        g[outputs * d + c] = sum
                    }
                }
            }
        }
    }
}
