import Compute
import Models
import Testing
@testable import Training

/// The whole tiny student — ViT at two input sizes (the stored grid and a resampled one), DINO head on both
/// passes' CLS, iBOT head on the global patches in two logit chunks, and a feature term on `x_norm` — against
/// central differences of `ReferenceStudent` in Double over **every** parameter (`GradientCheck`). Then the
/// same analytic gradients against references with a planted mistake (q/k swapped, SwiGLU's other half as the
/// gate), which must fail the check.
@Suite struct StudentGradientTests {
    let backend = CPUBackend(threads: 2)
    typealias Check = GradientCheck

    static let dinoConfig = HeadConfig(inFeatures: 8, hiddenFeatures: 12, bottleneckFeatures: 6, prototypes: 10)
    static let ibotConfig = HeadConfig(inFeatures: 8, hiddenFeatures: 12, bottleneckFeatures: 5, prototypes: 9)

    /// ViT/2 on 8 px (stored grid 4×4), D 8, 2 heads, depth 2, 1 register, LayerScale, qkv bias.
    static func config(_ mlp: MLPKind, _ interpolation: PosEmbedInterpolation) -> ViTConfig {
        ViTConfig(name: "fd-tiny-\(mlp.rawValue)", imgSize: 8, patchSize: 2, embedDim: 8, depth: 2, numHeads: 2, regTokens: 1,
                  mlpLayer: mlp, mlpHiddenFeatures: mlp == .swigluPacked ? 16 : 12, posEmbedInterpolation: interpolation)
    }

    /// Parameter values that make every path matter: weights ±√3/√fan_in, biases ±0.1, norm weights 1 ± 0.3,
    /// gammas 0.5 ± 0.3, tokens and positions ±0.5, head g 1 ± 0.3.
    static func values(_ parameters: [(name: String, shape: [Int])], seed: UInt64) -> [Double] {
        var flat: [Double] = []
        for (index, (name, shape)) in parameters.enumerated() {
            let count = shape.reduce(1, *)
            let seed = seed &+ UInt64(index) &* 7919
            let values: [Double] = switch name {
            case let n where n.hasSuffix("gamma"): Check.values(count, seed: seed, scale: 0.3, center: 0.5)
            case let n where n.hasSuffix("weight_g"): Check.values(count, seed: seed, scale: 0.3, center: 1)
            case let n where n.contains("norm") && n.hasSuffix("weight"): Check.values(count, seed: seed, scale: 0.3, center: 1)
            case let n where n.hasSuffix("bias"): Check.values(count, seed: seed, scale: 0.1)
            case "cls_token", "reg_token", "pos_embed": Check.values(count, seed: seed, scale: 0.5)
            default: Check.values(count, seed: seed, scale: 3.0.squareRoot() / Double(shape.dropFirst().reduce(1, *)).squareRoot())
            }
            flat += values
        }
        return flat
    }

    struct Setup {
        let config: ViTConfig
        let backbone: [Double], dino: [Double], ibot: [Double]
        let global: [Double], local: [Double]
        private(set) var weights: [Double] = []
        static let batch = 2, globalSize = 8, localSize = 6

        init(_ config: ViTConfig) {
            self.config = config
            backbone = StudentGradientTests.values(ParameterLayout(config: config).parameters.map { ($0.name, $0.shape) }, seed: 100)
            dino = StudentGradientTests.values(StudentGradientTests.dinoConfig.layout.parameters.map { ($0.name, $0.shape) }, seed: 200)
            ibot = StudentGradientTests.values(StudentGradientTests.ibotConfig.layout.parameters.map { ($0.name, $0.shape) }, seed: 300)
            global = Check.values(Self.batch * 3 * Self.globalSize * Self.globalSize, seed: 400, scale: 2)
            local = Check.values(Self.batch * 3 * Self.localSize * Self.localSize, seed: 500, scale: 2)
            weights = Check.values(outputs(backbone, dino, ibot).count, seed: 600)
        }

        /// `[DINO logits of (local CLS, global CLS), iBOT logits of the global patches, global x_norm]`.
        func outputs(_ backbone: [Double], _ dino: [Double], _ ibot: [Double], mistake: ReferenceStudent.Mistake = .none) -> [Double] {
            let b = Self.batch, d = config.embedDim
            let xg = ReferenceStudent.vit(backbone, config: config, images: global, batch: b, height: Self.globalSize, width: Self.globalSize,
                                          mistake: mistake)
            let xl = ReferenceStudent.vit(backbone, config: config, images: local, batch: b, height: Self.localSize, width: Self.localSize,
                                          mistake: mistake)
            let lengthG = config.sequenceLength(height: Self.globalSize, width: Self.globalSize)
            let lengthL = config.sequenceLength(height: Self.localSize, width: Self.localSize)
            let cls = Reference.selectTokens(xl, batch: b, length: lengthL, first: 0, count: 1, dim: d)
                + Reference.selectTokens(xg, batch: b, length: lengthG, first: 0, count: 1, dim: d)
            let patches = lengthG - config.prefixTokens
            let patchTokens = Reference.selectTokens(xg, batch: b, length: lengthG, first: config.prefixTokens, count: patches, dim: d)
            return ReferenceStudent.head(dino, config: StudentGradientTests.dinoConfig, input: cls, rows: 2 * b)
                + ReferenceStudent.head(ibot, config: StudentGradientTests.ibotConfig, input: patchTokens, rows: b * patches)
                + xg
        }
    }

    /// The analytic gradients of `L = Σ weights ⊙ outputs` from the Float32 training passes of a `Student` over
    /// `[backbone; dino_head; ibot_head]`.
    func analytic(_ s: Setup) -> (backbone: [Float], dino: [Float], ibot: [Float]) {
        let b = Setup.batch, d = s.config.embedDim
        let layout = StudentLayout(backbone: s.config, heads: [.init(name: "dino_head", config: Self.dinoConfig),
                                                                .init(name: "ibot_head", config: Self.ibotConfig)])
        let student = Student(layout: layout, parameters: Tensor(shape: [layout.count], doubles: s.backbone + s.dino + s.ibot),
                              gradients: Tensor(shape: [layout.count], zeroed: true), backend: backend)
        let a = student.makeActivations(globalBatch: b, globalSize: Setup.globalSize, localBatch: b, localSize: Setup.localSize)
        a.global.images.floats.update(from: s.global.map(Float.init), count: s.global.count)
        a.local!.images.floats.update(from: s.local.map(Float.init), count: s.local.count)
        // The weights in the order of `Setup.outputs`: DINO logits, iBOT logits, global x_norm.
        let counts = [2 * b * Self.dinoConfig.prototypes, b * a.global.patches * Self.ibotConfig.prototypes, b * a.global.length * d]
        var offset = 0
        let upstream = counts.map { count in
            defer { offset += count }
            return Tensor(shape: [count], doubles: Array(s.weights[offset..<(offset + count)]))
        }
        #expect(offset == s.weights.count)
        // Logits in chunks of 13 rows (not a divisor of the iBOT head's 32 rows).
        #expect(throws: Never.self) {
            try StudentPass.run(student, a, upstream: .init(dino: upstream[0], ibot: upstream[1], globalFeatures: upstream[2]), chunk: 13)
        }
        let gradients = student.gradients.scalars()
        func module(_ name: String) -> [Float] { Array(gradients[layout.range(of: name)]) }
        return (module("backbone"), module("dino_head"), module("ibot_head"))
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let mlp: MLPKind
        let interpolation: PosEmbedInterpolation
        var testDescription: String { "\(mlp.rawValue), \(interpolation) pos-embed" }
    }

    @Test(arguments: [Case(mlp: .swigluPacked, interpolation: .dinov2), Case(mlp: .gelu, interpolation: .timm)])
    func everyParameterMatchesFiniteDifferences(_ item: Case) {
        let s = Setup(Self.config(item.mlp, item.interpolation))
        let (backbone, dino, ibot) = analytic(s)
        let f = { (v: [[Double]]) in s.outputs(v[0], v[1], v[2]) }
        let inputs = [s.backbone, s.dino, s.ibot]
        let layout = ParameterLayout(config: s.config)
        let numeric = Check.numericGradient(f, at: inputs, weights: s.weights, input: 0)
        // Per parameter tensor, so a failure names it.
        for parameter in layout.parameters {
            let range = parameter.offset..<(parameter.offset + parameter.count)
            let error = Check.relativeError(Array(backbone[range]), Array(numeric[range]))
            #expect(error <= Check.tolerance, "\(parameter.name): relative error \(error)")
            #expect(numeric[range].contains { abs($0) > 1e-6 }, "\(parameter.name): zero gradient")
        }
        for (name, analytic, index, headConfig) in [("dino_head", dino, 1, Self.dinoConfig), ("ibot_head", ibot, 2, Self.ibotConfig)] {
            let numeric = Check.numericGradient(f, at: inputs, weights: s.weights, input: index)
            for parameter in headConfig.layout.parameters {
                let range = parameter.offset..<(parameter.offset + parameter.count)
                let error = Check.relativeError(Array(analytic[range]), Array(numeric[range]))
                #expect(error <= Check.tolerance, "\(name).\(parameter.name): relative error \(error)")
                #expect(numeric[range].contains { abs($0) > 1e-6 }, "\(name).\(parameter.name): zero gradient")
            }
        }
    }

    @Test(arguments: [ReferenceStudent.Mistake.swappedQK, .swiGLUGateLast])
    func aPlantedMistakeFailsTheCheck(_ mistake: ReferenceStudent.Mistake) {
        let s = Setup(Self.config(.swigluPacked, .dinov2))
        let backbone = analytic(s).backbone
        let numeric = Check.numericGradient({ s.outputs($0[0], $0[1], $0[2], mistake: mistake) }, at: [s.backbone, s.dino, s.ibot],
                                            weights: s.weights, input: 0)
        let error = Check.relativeError(backbone, numeric)
        #expect(error > 100 * Check.tolerance, "\(mistake): relative error only \(error)")
    }
}

extension ReferenceStudent.Mistake: CustomTestStringConvertible {
    var testDescription: String { "\(self)" }
}
