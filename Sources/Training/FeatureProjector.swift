import Compute

/// The learned projector of feature distillation: one `nn.Linear(D_s, D_t)` from student features to the
/// teacher's width, `y = x·Wᵀ + b`, with its backward pass (llm.c style, forward and backward side by side):
///
///     forward   y [rows, D_t] = x [rows, D_s] · Wᵀ + b          W [D_t, D_s], b [D_t]
///     backward  ∂x = ∂y · W,   ∂W += ∂yᵀ · x,   ∂b += Σ_rows ∂y
///
/// Its parameters are named `projector.linear.weight` and `projector.linear.bias` in a `ParameterTable` (module
/// `.projector`: lr multiplier 1, weight decay on the weight only, its own gradient clipping).
public struct FeatureProjector: Sendable, Hashable, Codable {
    /// Student and teacher widths.
    public let inFeatures: Int, outFeatures: Int

    /// A projector from `inFeatures` (D_s) to `outFeatures` (D_t).
    public init(inFeatures: Int, outFeatures: Int) {
        precondition(inFeatures > 0 && outFeatures > 0, "projector widths must be positive")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// Appends the projector's parameters to `table`: `projector.linear.weight [D_t, D_s]`,
    /// `projector.linear.bias [D_t]` (the `linear.` level keeps DINOv2's no-decay rule, which looks for a name
    /// ending in `.bias`, applying to the bias).
    public func register(in table: inout ParameterTable) throws(TrainingError) {
        for parameter in parameters { try table.append(parameter.name, shape: parameter.shape) }
    }

    /// The parameters' full names and PyTorch shapes, in buffer order: `projector.linear.weight [D_t, D_s]`,
    /// `projector.linear.bias [D_t]`.
    public var parameters: [(name: String, shape: [Int])] {
        [("projector.linear.weight", [outFeatures, inFeatures]), ("projector.linear.bias", [outFeatures])]
    }

    /// Element count of both parameters, `D_t·D_s + D_t`.
    public var count: Int { outFeatures * inFeatures + outFeatures }

    /// `output` `[rows, D_t]` = `input` `[rows, D_s]` · `weightᵀ` + `bias`.
    public func forward(input: Tensor, weight: Tensor, bias: Tensor, output: Tensor, rows: Int, backend: any Backend) {
        backend.linear(input: input, weight: weight, bias: bias, output: output, rows: rows,
                       inFeatures: inFeatures, outFeatures: outFeatures)
    }

    /// Gradients from `outputGradient` `[rows, D_t]`: writes `inputGradient` `[rows, D_s]`, adds into
    /// `weightGradient` `[D_t, D_s]` and `biasGradient` `[D_t]` (host f32).
    public func backward(input: Tensor, weight: Tensor, outputGradient: Tensor, inputGradient: Tensor,
                         weightGradient: Tensor, biasGradient: Tensor, rows: Int, backend: any Backend) {
        backend.gemm(transposeA: false, transposeB: false, m: rows, n: inFeatures, k: outFeatures, alpha: 1,
                     a: outputGradient, lda: outFeatures, b: weight, ldb: inFeatures, beta: 0, c: inputGradient,
                     ldc: inFeatures)
        backend.gemm(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: rows, alpha: 1,
                     a: outputGradient, lda: outFeatures, b: input, ldb: inFeatures, beta: 1, c: weightGradient,
                     ldc: inFeatures)
        let dy = UnsafePointer(outputGradient.floats), db = biasGradient.floats
        for row in 0..<rows {
            for j in 0..<outFeatures { db[j] += dy[row * outFeatures + j] }
        }
    }
}
