import Compute
import Models
import Testing
@testable import Training

/// A `DINOHead` alone, at depths other than DINOv2's 3 (1: `in → bottleneck` directly; 2) and with the logits in
/// uneven chunks: every parameter's gradient and the input gradient against central differences of
/// `ReferenceStudent.head` (`GradientCheck`), and the logits against the reference.
@Suite struct DINOHeadTests {
    let backend = CPUBackend(threads: 2)
    typealias Check = GradientCheck

    @Test(arguments: [1, 2, 4])
    func gradientsMatchFiniteDifferences(layers: Int) {
        let config = HeadConfig(inFeatures: 7, hiddenFeatures: 9, bottleneckFeatures: 5, prototypes: 11, layers: layers)
        let rows = 6
        let parameters = StudentGradientTests.values(config.layout.parameters.map { ($0.name, $0.shape) }, seed: 700)
        let input = Check.values(rows * config.inFeatures, seed: 701)
        let weights = Check.values(rows * config.prototypes, seed: 702)
        let f = { (v: [[Double]]) in ReferenceStudent.head(v[0], config: config, input: v[1], rows: rows) }

        let head = DINOHead(config: config, parameters: ParameterBuffer(layout: config.layout, flat: Tensor(shape: [parameters.count], doubles: parameters)),
                            gradients: ParameterBuffer.zeros(layout: config.layout, backend: backend), backend: backend)
        let a = head.makeActivations(rows: rows)
        a.input.floats.update(from: input.map(Float.init), count: input.count)
        head.forwardFeatures(a)
        let logits = Tensor(shape: [rows, config.prototypes]), gradient = Tensor(shape: [rows, config.prototypes], doubles: weights)
        let k = config.prototypes
        for range in [0..<4, 4..<rows] {
            head.logits(rows: range, output: logits.view(offset: range.lowerBound * k, shape: [range.count, k]), a)
            head.backwardLogits(rows: range, logitsGradient: gradient.view(offset: range.lowerBound * k, shape: [range.count, k]), a)
        }
        #expect(Check.forwardError(logits.scalars(), f([parameters, input])) <= 1e-6)
        let inputGradient = head.backward(a)
        Check.expectMatches("head dθ (\(layers) layers)", analytic: head.gradients.flat.scalars(), f, at: [parameters, input],
                            weights: weights, input: 0)
        Check.expectMatches("head dx (\(layers) layers)", analytic: inputGradient.scalars(), f, at: [parameters, input],
                            weights: weights, input: 1)
    }

    @Test func layoutIsDINOv2StateDict() {
        let layout = HeadConfig.dino(inFeatures: 768).layout
        #expect(layout.parameters.map(\.name) == ["mlp.0.weight", "mlp.0.bias", "mlp.2.weight", "mlp.2.bias", "mlp.4.weight", "mlp.4.bias",
                                                  "last_layer.weight_g", "last_layer.weight_v"])
        #expect(layout.parameters.map(\.shape) == [[2048, 768], [2048], [2048, 2048], [2048], [384, 2048], [384], [131_072, 1], [131_072, 384]])
        #expect(HeadConfig.ibot(inFeatures: 768, prototypes: 1024).layout.parameter("last_layer.weight_v")?.shape == [1024, 256])
    }
}
