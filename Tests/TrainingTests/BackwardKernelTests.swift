import Compute
import Testing

/// Every backward kernel of `CPUBackend` against central differences of the Double reference forward
/// (`GradientCheck`), on tiny shapes with widths that are not multiples of the eight-lane vectors. Each test
/// first checks the Float32 forward against the same reference, so the function differentiated is the kernel's.
/// Parameter gradients are pre-filled with `prior` values to check that they accumulate; overwritten input
/// gradients are pre-filled with garbage.
@Suite struct BackwardKernelTests {
    let backend = CPUBackend(threads: 2)
    typealias Check = GradientCheck

    /// A tensor pre-filled with `value`.
    func filled(_ shape: [Int], _ value: Float) -> Tensor { Tensor(shape: shape, values: [Float](repeating: value, count: shape.reduce(1, *))) }

    /// `tensor`'s values minus `prior` (what a kernel added to a pre-filled gradient).
    func added(_ tensor: Tensor, over prior: Float) -> [Float] { tensor.scalars().map { $0 - prior } }

    @Test func linear() {
        let rows = 5, inFeatures = 11, outFeatures = 9
        let inputs = [Check.values(rows * inFeatures, seed: 1), Check.values(outFeatures * inFeatures, seed: 2, scale: 0.5),
                      Check.values(outFeatures, seed: 3)]
        let f = { (v: [[Double]]) in Reference.linear(v[0], v[1], v[2], rows: rows, inFeatures: inFeatures, outFeatures: outFeatures) }
        let weights = Check.values(rows * outFeatures, seed: 4)
        let x = Tensor(shape: [rows, inFeatures], doubles: inputs[0]), w = Tensor(shape: [outFeatures, inFeatures], doubles: inputs[1])
        let b = Tensor(shape: [outFeatures], doubles: inputs[2]), y = Tensor(shape: [rows, outFeatures])
        backend.linear(input: x, weight: w, bias: b, output: y, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
        #expect(Check.forwardError(y.scalars(), f(inputs)) <= 1e-6)

        let dx = filled([rows, inFeatures], 9), dw = filled([outFeatures, inFeatures], 0.25), db = filled([outFeatures], 0.25)
        backend.linearBackward(input: x, weight: w, outputGradient: Tensor(shape: [rows, outFeatures], doubles: weights), inputGradient: dx,
                               weightGradient: dw, biasGradient: db, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
        Check.expectMatches("linear dx", analytic: dx.scalars(), f, at: inputs, weights: weights, input: 0)
        Check.expectMatches("linear dW", analytic: added(dw, over: 0.25), f, at: inputs, weights: weights, input: 1)
        Check.expectMatches("linear db", analytic: added(db, over: 0.25), f, at: inputs, weights: weights, input: 2)
    }

    @Test func layerNorm() {
        let rows = 4, dim = 21
        let eps = 1e-6
        let inputs = [Check.values(rows * dim, seed: 11, scale: 2, center: 0.3), Check.values(dim, seed: 12, scale: 0.5, center: 1),
                      Check.values(dim, seed: 13, scale: 0.2)]
        let f = { (v: [[Double]]) in Reference.layerNorm(v[0], v[1], v[2], rows: rows, dim: dim, eps: eps) }
        let weights = Check.values(rows * dim, seed: 14)
        let x = Tensor(shape: [rows, dim], doubles: inputs[0]), w = Tensor(shape: [dim], doubles: inputs[1])
        let b = Tensor(shape: [dim], doubles: inputs[2]), y = Tensor(shape: [rows, dim])
        backend.layerNorm(input: x, weight: w, bias: b, output: y, rows: rows, dim: dim, eps: Float(eps))
        #expect(Check.forwardError(y.scalars(), f(inputs)) <= 1e-6)

        // The input gradient accumulates (it is the residual stream's).
        let dx = filled([rows, dim], 0.5), dw = filled([dim], 0.25), db = filled([dim], 0.25)
        backend.layerNormBackward(input: x, weight: w, outputGradient: Tensor(shape: [rows, dim], doubles: weights), inputGradient: dx,
                                  weightGradient: dw, biasGradient: db, rows: rows, dim: dim, eps: Float(eps))
        Check.expectMatches("layerNorm dx", analytic: added(dx, over: 0.5), f, at: inputs, weights: weights, input: 0)
        Check.expectMatches("layerNorm dweight", analytic: added(dw, over: 0.25), f, at: inputs, weights: weights, input: 1)
        Check.expectMatches("layerNorm dbias", analytic: added(db, over: 0.25), f, at: inputs, weights: weights, input: 2)
    }

    @Test func attention() {
        let batch = 2, tokens = 7, heads = 2, headDim = 3
        let width = 3 * heads * headDim
        let inputs = [Check.values(batch * tokens * width, seed: 21, scale: 1.5)]
        let f = { (v: [[Double]]) in Reference.attention(v[0], batch: batch, tokens: tokens, heads: heads, headDim: headDim) }
        let weights = Check.values(batch * tokens * heads * headDim, seed: 22)
        let qkv = Tensor(shape: [batch * tokens, width], doubles: inputs[0]), out = Tensor(shape: [batch * tokens, heads * headDim])
        backend.attention(qkv: qkv, output: out, batch: batch, tokens: tokens, heads: heads, headDim: headDim)
        #expect(Check.forwardError(out.scalars(), f(inputs)) <= 1e-6)

        let dqkv = filled([batch * tokens, width], 9)
        backend.attentionBackward(qkv: qkv, outputGradient: Tensor(shape: [batch * tokens, heads * headDim], doubles: weights),
                                  qkvGradient: dqkv, batch: batch, tokens: tokens, heads: heads, headDim: headDim)
        Check.expectMatches("attention dqkv", analytic: dqkv.scalars(), f, at: inputs, weights: weights, input: 0)
    }

    @Test func gelu() {
        let count = 45
        let inputs = [Check.values(count, seed: 31, scale: 4)]
        let weights = Check.values(count, seed: 32)
        let x = Tensor(shape: [count], doubles: inputs[0]), y = Tensor(shape: [count])
        backend.gelu(input: x, output: y, count: count)
        #expect(Check.forwardError(y.scalars(), Reference.gelu(inputs[0])) <= 1e-6)
        // In place, as the heads use it.
        let dx = Tensor(shape: [count], doubles: weights)
        backend.geluBackward(input: x, outputGradient: dx, inputGradient: dx, count: count)
        Check.expectMatches("gelu dx", analytic: dx.scalars(), { Reference.gelu($0[0]) }, at: inputs, weights: weights, input: 0)
    }

    @Test func swiGLU() {
        let rows = 3, hidden = 11
        let inputs = [Check.values(rows * 2 * hidden, seed: 41, scale: 4)]
        let f = { (v: [[Double]]) in Reference.swiGLU(v[0], rows: rows, hidden: hidden) }
        let weights = Check.values(rows * hidden, seed: 42)
        let x = Tensor(shape: [rows, 2 * hidden], doubles: inputs[0]), y = Tensor(shape: [rows, hidden])
        backend.swiGLU(input: x, output: y, rows: rows, hidden: hidden)
        #expect(Check.forwardError(y.scalars(), f(inputs)) <= 1e-6)
        let dx = filled([rows, 2 * hidden], 9)
        backend.swiGLUBackward(input: x, outputGradient: Tensor(shape: [rows, hidden], doubles: weights), inputGradient: dx, rows: rows, hidden: hidden)
        Check.expectMatches("swiGLU dx", analytic: dx.scalars(), f, at: inputs, weights: weights, input: 0)
    }

    @Test(arguments: [true, false])
    func layerScaleResidual(withGamma: Bool) {
        let rows = 4, dim = 10
        let inputs = [Check.values(rows * dim, seed: 51), Check.values(rows * dim, seed: 52), Check.values(dim, seed: 53, scale: 0.5, center: 0.7)]
        let f = { (v: [[Double]]) in Reference.layerScaleResidual(v[0], v[1], withGamma ? v[2] : nil, rows: rows, dim: dim) }
        let weights = Check.values(rows * dim, seed: 54)
        let residual = Tensor(shape: [rows, dim], doubles: inputs[0]), branch = Tensor(shape: [rows, dim], doubles: inputs[1])
        let gamma = withGamma ? Tensor(shape: [dim], doubles: inputs[2]) : nil
        backend.layerScaleResidual(residual: residual, branch: branch, gamma: gamma, rows: rows, dim: dim)
        #expect(Check.forwardError(residual.scalars(), f(inputs)) <= 1e-6)

        let dBranch = filled([rows, dim], 9), dGamma = filled([dim], 0.25)
        backend.layerScaleResidualBackward(residualGradient: Tensor(shape: [rows, dim], doubles: weights), branch: branch, gamma: gamma,
                                           branchGradient: dBranch, gammaGradient: withGamma ? dGamma : nil, rows: rows, dim: dim)
        // The residual's own gradient passes through unchanged: dL/dresidual = w.
        Check.expectMatches("layerScale dresidual", analytic: weights.map(Float.init), f, at: inputs, weights: weights, input: 0)
        Check.expectMatches("layerScale dbranch", analytic: dBranch.scalars(), f, at: inputs, weights: weights, input: 1)
        if withGamma {
            Check.expectMatches("layerScale dgamma", analytic: added(dGamma, over: 0.25), f, at: inputs, weights: weights, input: 2)
        }
    }

    @Test func patchEmbed() {
        let batch = 2, channels = 3, height = 4, width = 6, patch = 2, dim = 5
        let patches = (height / patch) * (width / patch)
        let images = Check.values(batch * channels * height * width, seed: 61)
        let inputs = [Check.values(dim * channels * patch * patch, seed: 62, scale: 0.5), Check.values(dim, seed: 63)]
        let f = { (v: [[Double]]) in
            Reference.patchEmbed(images, v[0], v[1], batch: batch, channels: channels, height: height, width: width, patch: patch, dim: dim)
        }
        let weights = Check.values(batch * patches * dim, seed: 64)
        let x = Tensor(shape: [batch, channels, height, width], doubles: images)
        let w = Tensor(shape: [dim, channels, patch, patch], doubles: inputs[0]), b = Tensor(shape: [dim], doubles: inputs[1])
        let y = Tensor(shape: [batch, patches, dim])
        backend.patchEmbed(images: x, weight: w, bias: b, output: y, batch: batch, channels: channels, height: height, width: width,
                           patch: patch, dim: dim)
        #expect(Check.forwardError(y.scalars(), f(inputs)) <= 1e-6)
        let dw = filled([dim, channels, patch, patch], 0.25), db = filled([dim], 0.25)
        backend.patchEmbedBackward(images: x, outputGradient: Tensor(shape: [batch, patches, dim], doubles: weights), weightGradient: dw,
                                   biasGradient: db, batch: batch, channels: channels, height: height, width: width, patch: patch, dim: dim)
        Check.expectMatches("patchEmbed dW", analytic: added(dw, over: 0.25), f, at: inputs, weights: weights, input: 0)
        Check.expectMatches("patchEmbed db", analytic: added(db, over: 0.25), f, at: inputs, weights: weights, input: 1)
    }

    struct ResizeCase: CustomTestStringConvertible, Sendable {
        let mode: PosEmbedInterpolation
        let stored: Int
        let target: Int
        var testDescription: String { "\(mode) \(stored)→\(target)" }
    }

    @Test(arguments: [ResizeCase(mode: .dinov2, stored: 6, target: 3), ResizeCase(mode: .timm, stored: 6, target: 3),
                      ResizeCase(mode: .timm, stored: 3, target: 5)])
    func resizeGrid(_ item: ResizeCase) {
        let dim = 3
        let rows = item.mode.resize(stored: item.stored, target: item.target), columns = rows
        let inputs = [Check.values(item.stored * item.stored * dim, seed: 71)]
        let f = { (v: [[Double]]) in
            Reference.resizeGrid(v[0], inputHeight: item.stored, inputWidth: item.stored, outputHeight: item.target,
                                 outputWidth: item.target, dim: dim, rows: rows, columns: columns)
        }
        let weights = Check.values(item.target * item.target * dim, seed: 72)
        let x = Tensor(shape: [item.stored * item.stored, dim], doubles: inputs[0]), y = Tensor(shape: [item.target * item.target, dim])
        backend.resizeGrid(input: x, output: y, inputHeight: item.stored, inputWidth: item.stored, outputHeight: item.target,
                           outputWidth: item.target, dim: dim, rows: rows, columns: columns)
        #expect(Check.forwardError(y.scalars(), f(inputs)) <= 1e-6)
        let dx = filled([item.stored * item.stored, dim], 0.25)
        backend.resizeGridBackward(outputGradient: Tensor(shape: [item.target * item.target, dim], doubles: weights), inputGradient: dx,
                                   inputHeight: item.stored, inputWidth: item.stored, outputHeight: item.target, outputWidth: item.target,
                                   dim: dim, rows: rows, columns: columns)
        Check.expectMatches("resizeGrid dx", analytic: added(dx, over: 0.25), f, at: inputs, weights: weights, input: 0)
    }

    @Test func assembleTokens() {
        let batch = 2, patches = 4, registers = 2, dim = 3
        let length = 1 + registers + patches
        let inputs = [Check.values(batch * patches * dim, seed: 81), Check.values(dim, seed: 82), Check.values(registers * dim, seed: 83),
                      Check.values(patches * dim, seed: 84)]
        let f = { (v: [[Double]]) in
            Reference.assembleTokens(v[0], cls: v[1], registers: v[2], positions: v[3], batch: batch, patches: patches,
                                     registerCount: registers, dim: dim)
        }
        let weights = Check.values(batch * length * dim, seed: 85)
        let tensors = [Tensor(shape: [batch, patches, dim], doubles: inputs[0]), Tensor(shape: [dim], doubles: inputs[1]),
                       Tensor(shape: [registers, dim], doubles: inputs[2]), Tensor(shape: [patches, dim], doubles: inputs[3])]
        let y = Tensor(shape: [batch, length, dim])
        backend.assembleTokens(patchTokens: tensors[0], classToken: tensors[1], registerTokens: tensors[2], positions: tensors[3],
                               output: y, batch: batch, patches: patches, registers: registers, dim: dim)
        #expect(Check.forwardError(y.scalars(), f(inputs)) <= 1e-7)
        let dPatches = filled([batch, patches, dim], 9), dCls = filled([dim], 0.25), dReg = filled([registers, dim], 0.25)
        let dPos = filled([patches, dim], 0.25)
        backend.assembleTokensBackward(outputGradient: Tensor(shape: [batch, length, dim], doubles: weights), patchTokensGradient: dPatches,
                                       classTokenGradient: dCls, registerTokensGradient: dReg, positionsGradient: dPos, batch: batch,
                                       patches: patches, registers: registers, dim: dim)
        Check.expectMatches("assemble dpatches", analytic: dPatches.scalars(), f, at: inputs, weights: weights, input: 0)
        Check.expectMatches("assemble dcls", analytic: added(dCls, over: 0.25), f, at: inputs, weights: weights, input: 1)
        Check.expectMatches("assemble dreg", analytic: added(dReg, over: 0.25), f, at: inputs, weights: weights, input: 2)
        Check.expectMatches("assemble dpos", analytic: added(dPos, over: 0.25), f, at: inputs, weights: weights, input: 3)
    }

    @Test func selectTokens() {
        let batch = 2, length = 6, first = 2, count = 3, dim = 4
        let inputs = [Check.values(batch * length * dim, seed: 91)]
        let f = { (v: [[Double]]) in Reference.selectTokens(v[0], batch: batch, length: length, first: first, count: count, dim: dim) }
        let weights = Check.values(batch * count * dim, seed: 92)
        let x = Tensor(shape: [batch, length, dim], doubles: inputs[0]), y = Tensor(shape: [batch, count, dim])
        backend.selectTokens(tokens: x, output: y, batch: batch, length: length, first: first, count: count, dim: dim)
        #expect(Check.forwardError(y.scalars(), f(inputs)) == 0)
        let dx = filled([batch, length, dim], 0.25)
        backend.selectTokensBackward(outputGradient: Tensor(shape: [batch, count, dim], doubles: weights), tokensGradient: dx, batch: batch,
                                     length: length, first: first, count: count, dim: dim)
        Check.expectMatches("selectTokens dx", analytic: added(dx, over: 0.25), f, at: inputs, weights: weights, input: 0)
    }

    @Test func l2Normalize() {
        let rows = 4, dim = 9
        let eps = 1e-12
        let inputs = [Check.values(rows * dim, seed: 101, scale: 2)]
        let f = { (v: [[Double]]) in Reference.l2Normalize(v[0], rows: rows, dim: dim, eps: eps) }
        let weights = Check.values(rows * dim, seed: 102)
        let x = Tensor(shape: [rows, dim], doubles: inputs[0]), y = Tensor(shape: [rows, dim])
        backend.l2Normalize(input: x, output: y, rows: rows, dim: dim, eps: Float(eps))
        #expect(Check.forwardError(y.scalars(), f(inputs)) <= 1e-6)
        let dx = filled([rows, dim], 9)
        backend.l2NormalizeBackward(input: x, output: y, outputGradient: Tensor(shape: [rows, dim], doubles: weights), inputGradient: dx,
                                    rows: rows, dim: dim, eps: Float(eps))
        Check.expectMatches("l2Normalize dx", analytic: dx.scalars(), f, at: inputs, weights: weights, input: 0)
    }

    @Test func l2NormalizeBelowEps() {
        // ‖x‖ < eps: y = x/eps, a linear map, so dx = dy/eps exactly (F.normalize's clamp_min).
        let x = Tensor(shape: [1, 3], values: [1e-4, -2e-4, 0]), y = Tensor(shape: [1, 3]), dx = Tensor(shape: [1, 3])
        backend.l2Normalize(input: x, output: y, rows: 1, dim: 3, eps: 0.01)
        #expect(y.scalars() == [1e-2, -2e-2, 0].map { Float($0) })
        backend.l2NormalizeBackward(input: x, output: y, outputGradient: Tensor(shape: [1, 3], values: [1, 2, -3]), inputGradient: dx,
                                    rows: 1, dim: 3, eps: 0.01)
        #expect(dx.scalars() == [100, 200, -300])
    }

    @Test func weightNorm() {
        let rows = 5, columns = 7
        let inputs = [Check.values(rows * columns, seed: 111), Check.values(rows, seed: 112, scale: 0.5, center: 1)]
        let f = { (v: [[Double]]) in Reference.weightNorm(v[0], v[1], rows: rows, columns: columns) }
        let weights = Check.values(rows * columns, seed: 113)
        let v = Tensor(shape: [rows, columns], doubles: inputs[0]), g = Tensor(shape: [rows, 1], doubles: inputs[1])
        let w = Tensor(shape: [rows, columns])
        backend.weightNorm(direction: v, magnitude: g, weight: w, rows: rows, columns: columns)
        #expect(Check.forwardError(w.scalars(), f(inputs)) <= 1e-6)
        let dv = filled([rows, columns], 0.25), dg = filled([rows, 1], 0.25)
        backend.weightNormBackward(direction: v, magnitude: g, weightGradient: Tensor(shape: [rows, columns], doubles: weights),
                                   directionGradient: dv, magnitudeGradient: dg, rows: rows, columns: columns)
        Check.expectMatches("weightNorm dv", analytic: added(dv, over: 0.25), f, at: inputs, weights: weights, input: 0)
        Check.expectMatches("weightNorm dg", analytic: added(dg, over: 0.25), f, at: inputs, weights: weights, input: 1)
    }
}
