/// The kernel set the models are written against (DESIGN.md §4), in the manner of llm.c: a model is a
/// readable list of kernel calls on flat row-major buffers with explicit sizes; the backend owns how each
/// kernel runs (OpenBLAS and vectorised loops on the CPU; cuBLASLt and NVRTC kernels on CUDA, issue #9).
///
/// Every tensor argument must live on `device` and be `f32` unless a kernel says otherwise; sizes are given
/// explicitly and checked against the tensors' element counts (a mismatch is a programming error and traps).
/// Kernels are synchronous: when a call returns, its output is written. They block the calling thread (BLAS,
/// worker threads), so call them from a thread that may block — a stage thread, never the cooperative pool.
/// Outputs never alias inputs unless a kernel says so.
///
/// Backward kernels (training, issue #5) sit beside their forwards, in the manner of llm.c: each takes the
/// forward's inputs (or what the forward cached) and the gradient of the loss with respect to the forward's
/// output, and writes gradients with respect to the forward's inputs and parameters. Conventions:
/// - **parameter gradients accumulate** (`+=`): one flat gradient buffer collects a step's gradients over
///   several passes (global and local crops, several heads), and the caller zeroes it once per step;
/// - **input gradients are overwritten** unless the kernel says it accumulates (LayerNorm's, which always
///   feeds the residual stream's gradient).
/// The formulas are distillation-spec.md §4.10 and the derivations in docs/training.md.
public protocol Backend: Sendable {
    /// Where this backend's tensors live.
    var device: Device { get }

    /// A new `f32` tensor on `device`; contents undefined.
    func makeTensor(shape: [Int]) -> Tensor

    /// Copies host values into `tensor`.
    /// - Precondition: `values.count == tensor.count`.
    func upload(_ values: UnsafeBufferPointer<Float>, to tensor: Tensor)

    /// Copies `tensor`'s elements to the host.
    func download(_ tensor: Tensor) -> [Float]

    /// Sets the first `count` elements of `tensor` to `value` (zeroing gradient buffers).
    func fill(_ tensor: Tensor, value: Float, count: Int)

    /// Copies the first `count` elements of `source` into `destination` (they must not overlap).
    func copy(from source: Tensor, to destination: Tensor, count: Int)

    /// General matrix product `C = α·op(A)·op(B) + β·C`, row-major, with leading dimensions (row strides, in
    /// elements) so that sub-matrices of larger buffers can be used. `op(A)` is `[m, k]`, `op(B)` is `[k, n]`,
    /// `C` is `[m, n]`; `transposeA` means `A` is stored `[k, m]`. (BLAS `sgemm`.)
    func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: Tensor, lda: Int, b: Tensor, ldb: Int, beta: Float, c: Tensor, ldc: Int)

    /// `batch` independent `gemm`s; operand `i` starts `i·stride` elements after the previous one's start.
    func batchedGemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: Tensor, lda: Int, strideA: Int, b: Tensor, ldb: Int, strideB: Int,
                     beta: Float, c: Tensor, ldc: Int, strideC: Int, batch: Int)

    /// `nn.Linear`: `output[rows, outFeatures] = input[rows, inFeatures] · weightᵀ + bias`, with `weight`
    /// `[outFeatures, inFeatures]` (PyTorch layout) and `bias` `[outFeatures]` or nil.
    func linear(input: Tensor, weight: Tensor, bias: Tensor?, output: Tensor,
                rows: Int, inFeatures: Int, outFeatures: Int)

    /// Backward of `linear`, from `outputGradient` `[rows, outFeatures]` (dL/dy): `inputGradient` `[rows,
    /// inFeatures]` = dy·W (overwritten; skipped when nil), `weightGradient` `[outFeatures, inFeatures]` += dyᵀ·x,
    /// `biasGradient` `[outFeatures]` += Σ_rows dy (skipped when nil).
    func linearBackward(input: Tensor, weight: Tensor, outputGradient: Tensor, inputGradient: Tensor?,
                        weightGradient: Tensor, biasGradient: Tensor?, rows: Int, inFeatures: Int, outFeatures: Int)

    /// LayerNorm over the last dimension: `y = (x − μ)/√(σ² + eps)·weight + bias`, μ and biased σ² per row
    /// (`F.layer_norm`). `input`, `output`: `[rows, dim]`; `weight`, `bias`: `[dim]`. `output` may be `input`.
    func layerNorm(input: Tensor, weight: Tensor, bias: Tensor, output: Tensor, rows: Int, dim: Int, eps: Float)

    /// Backward of `layerNorm` on the same `input` (μ and 1/σ are recomputed per row, as the forward computes
    /// them): with `x̂ = (x − μ)/σ` and `ĝ = dy ⊙ weight`, `inputGradient` **+=** `(ĝ − mean(ĝ) − x̂·mean(ĝ ⊙ x̂))/σ`
    /// (accumulates: it is the residual stream's gradient), `weightGradient` += Σ_rows dy ⊙ x̂, `biasGradient`
    /// += Σ_rows dy. `outputGradient` `[rows, dim]`.
    func layerNormBackward(input: Tensor, weight: Tensor, outputGradient: Tensor, inputGradient: Tensor,
                           weightGradient: Tensor, biasGradient: Tensor, rows: Int, dim: Int, eps: Float)

    /// Row softmax of `scale·x`: `y[r, j] = exp(scale·(x[r, j] − max_r)) / Σ_j exp(scale·(x[r, j] − max_r))`.
    /// `input`, `output`: `[rows, columns]`; `output` may be `input`.
    func softmax(input: Tensor, output: Tensor, rows: Int, columns: Int, scale: Float)

    /// Multi-head self-attention without mask on a packed `qkv` (timm/DINOv2 `Attention` after the `qkv`
    /// Linear, before `proj`): `qkv` `[batch, tokens, 3, heads, headDim]` (q rows first, then k, then v, head
    /// `j` at columns `j·headDim` of each), `output` `[batch, tokens, heads, headDim]` =
    /// `softmax(q·kᵀ/√headDim)·v` per (image, head) (distillation-spec.md §2.2).
    func attention(qkv: Tensor, output: Tensor, batch: Int, tokens: Int, heads: Int, headDim: Int)

    /// Backward of `attention` on the same `qkv`, from `outputGradient` (dL/do, `[batch, tokens, heads,
    /// headDim]`), into `qkvGradient` `[batch, tokens, 3, heads, headDim]` (overwritten). The probabilities
    /// `P = softmax(s·q·kᵀ)` (s = 1/√headDim) are recomputed per (image, head) as the forward computes them;
    /// then `dv = Pᵀ·do`, `dP = do·vᵀ`, `dS = s·P ⊙ (dP − rowsum(P ⊙ dP))`, `dq = dS·k`, `dk = dSᵀ·q`.
    func attentionBackward(qkv: Tensor, outputGradient: Tensor, qkvGradient: Tensor, batch: Int, tokens: Int,
                           heads: Int, headDim: Int)

    /// GELU, exact erf form: `y = 0.5·x·(1 + erf(x/√2))` (`nn.GELU()`). `output` may be `input`.
    func gelu(input: Tensor, output: Tensor, count: Int)

    /// Backward of `gelu` at `input`: `inputGradient = outputGradient · (Φ(x) + x·φ(x))` (Φ, φ: the standard
    /// normal cdf and density). `inputGradient` may be `outputGradient`.
    func geluBackward(input: Tensor, outputGradient: Tensor, inputGradient: Tensor, count: Int)

    /// SiLU: `y = x·σ(x)` (`nn.SiLU`). `output` may be `input`.
    func silu(input: Tensor, output: Tensor, count: Int)

    /// Packed SwiGLU (timm `SwiGLUPacked` = `GluMlp(gate_last=False)`, DINOv2 `SwiGLUFFN`): `input`
    /// `[rows, 2·hidden]` is the `fc1`/`w12` output; `output[r, j] = silu(input[r, j]) · input[r, hidden + j]`,
    /// `[rows, hidden]` — the **first** half is the gate (distillation-spec.md §2.2).
    func swiGLU(input: Tensor, output: Tensor, rows: Int, hidden: Int)

    /// Backward of `swiGLU` at `input` `[rows, 2·hidden]` (gate `a` first, value `b` second), from
    /// `outputGradient` `[rows, hidden]`: `inputGradient` `[rows, 2·hidden]` (overwritten) holds
    /// `dy·b·σ(a)(1 + a(1 − σ(a)))` in the gate half and `dy·silu(a)` in the value half.
    func swiGLUBackward(input: Tensor, outputGradient: Tensor, inputGradient: Tensor, rows: Int, hidden: Int)

    /// LayerScale and residual: `residual[r, d] += gamma[d] · branch[r, d]` (timm `ls1`/`ls2`), `[rows, dim]`;
    /// without `gamma` (a model without LayerScale) a plain residual add.
    func layerScaleResidual(residual: Tensor, branch: Tensor, gamma: Tensor?, rows: Int, dim: Int)

    /// Backward of `layerScaleResidual` from the residual stream's gradient `residualGradient` `[rows, dim]`
    /// (which passes through unchanged): `branchGradient` = `gamma ⊙ residualGradient` (overwritten; a copy
    /// without gamma), `gammaGradient` `[dim]` += Σ_rows `residualGradient ⊙ branch` (`branch`: the forward's).
    func layerScaleResidualBackward(residualGradient: Tensor, branch: Tensor, gamma: Tensor?, branchGradient: Tensor,
                                    gammaGradient: Tensor?, rows: Int, dim: Int)

    /// Patch embedding, `Conv2d(channels, dim, kernel=patch, stride=patch)` then `flatten(2).transpose(1, 2)`:
    /// `images` `[batch, channels, height, width]`, `weight` `[dim, channels, patch, patch]`, `bias` `[dim]`,
    /// `output` `[batch, (height/patch)·(width/patch), dim]`, patch `n = row·(width/patch) + column`.
    func patchEmbed(images: Tensor, weight: Tensor, bias: Tensor, output: Tensor,
                    batch: Int, channels: Int, height: Int, width: Int, patch: Int, dim: Int)

    /// Backward of `patchEmbed` for its parameters (the images get no gradient): from `outputGradient`
    /// `[batch, patches, dim]`, `weightGradient` `[dim, channels, patch, patch]` += dyᵀ·im2col(images),
    /// `biasGradient` `[dim]` += Σ dy.
    func patchEmbedBackward(images: Tensor, outputGradient: Tensor, weightGradient: Tensor, biasGradient: Tensor,
                            batch: Int, channels: Int, height: Int, width: Int, patch: Int, dim: Int)

    /// Resizes a grid of vectors `input` `[inputHeight, inputWidth, dim]` to `output` `[outputHeight,
    /// outputWidth, dim]` with one `BicubicResize` per axis (W first, then H).
    func resizeGrid(input: Tensor, output: Tensor, inputHeight: Int, inputWidth: Int, outputHeight: Int,
                    outputWidth: Int, dim: Int, rows: BicubicResize, columns: BicubicResize)

    /// Backward of `resizeGrid` (a linear map, so its transpose): `inputGradient` `[inputHeight, inputWidth, dim]`
    /// **+=** `Rᵀ·outputGradient·C` per channel, with `R`, `C` the row and column weight matrices.
    func resizeGridBackward(outputGradient: Tensor, inputGradient: Tensor, inputHeight: Int, inputWidth: Int,
                            outputHeight: Int, outputWidth: Int, dim: Int, rows: BicubicResize, columns: BicubicResize)

    /// The token sequence of a ViT with `no_embed_class` (timm layout): for each image,
    /// `output[b] = [cls, registers…, patches[b] + positions]`, `[batch, 1 + registers + patches, dim]`;
    /// `classToken` `[dim]`, `registerTokens` `[registers, dim]` (may be empty), `patchTokens`
    /// `[batch, patches, dim]`, `positions` `[patches, dim]`.
    func assembleTokens(patchTokens: Tensor, classToken: Tensor, registerTokens: Tensor, positions: Tensor,
                        output: Tensor, batch: Int, patches: Int, registers: Int, dim: Int)

    /// Backward of `assembleTokens` from `outputGradient` `[batch, 1 + registers + patches, dim]`:
    /// `patchTokensGradient` `[batch, patches, dim]` (overwritten) = the patch rows; `classTokenGradient` `[dim]`,
    /// `registerTokensGradient` `[registers, dim]` (nil when there are none) and `positionsGradient`
    /// `[patches, dim]` += their rows summed over the batch.
    func assembleTokensBackward(outputGradient: Tensor, patchTokensGradient: Tensor, classTokenGradient: Tensor,
                                registerTokensGradient: Tensor?, positionsGradient: Tensor,
                                batch: Int, patches: Int, registers: Int, dim: Int)

    /// Copies tokens `first ..< first + count` of each image: `tokens` `[batch, length, dim]` → `output`
    /// `[batch, count, dim]` (CLS: `first` 0, `count` 1; patches: `first` 1 + R). The heads' input.
    func selectTokens(tokens: Tensor, output: Tensor, batch: Int, length: Int, first: Int, count: Int, dim: Int)

    /// Backward of `selectTokens`: `tokensGradient` `[batch, length, dim]` **+=** `outputGradient` `[batch, count,
    /// dim]` at tokens `first ..< first + count` (accumulates, so several heads can feed one gradient).
    func selectTokensBackward(outputGradient: Tensor, tokensGradient: Tensor, batch: Int, length: Int, first: Int,
                              count: Int, dim: Int)

    /// `F.normalize(x, p=2, dim=-1, eps)`: `output[r] = input[r] / max(‖input[r]‖₂, eps)`, `[rows, dim]`.
    func l2Normalize(input: Tensor, output: Tensor, rows: Int, dim: Int, eps: Float)

    /// Backward of `l2Normalize` (`output` is the forward's): where `‖x‖ > eps`, `inputGradient = (g − (g·y)·y)/‖x‖`,
    /// else `g/eps`, with `g = outputGradient` (overwritten).
    func l2NormalizeBackward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor,
                             rows: Int, dim: Int, eps: Float)

    /// Weight normalisation over rows (`torch.nn.utils.weight_norm(…, dim=0)`): `weight[k] = magnitude[k] ·
    /// direction[k] / ‖direction[k]‖₂` (no eps); `direction`, `weight` `[rows, columns]` (`weight_v`, `W`),
    /// `magnitude` `[rows]` (`weight_g`).
    func weightNorm(direction: Tensor, magnitude: Tensor, weight: Tensor, rows: Int, columns: Int)

    /// Backward of `weightNorm` from `weightGradient` `G` `[rows, columns]`: with `v̂ = v/‖v‖`,
    /// `magnitudeGradient[k]` += `G_k·v̂_k`, `directionGradient[k]` += `(g_k/‖v_k‖)(G_k − (G_k·v̂_k) v̂_k)`.
    func weightNormBackward(direction: Tensor, magnitude: Tensor, weightGradient: Tensor, directionGradient: Tensor,
                            magnitudeGradient: Tensor, rows: Int, columns: Int)

    /// RGB8 pixels `[batch, height, width, 3]` (host memory, interleaved) → model input `[batch, 3, height,
    /// width]` on `device`: `(v/255 − mean[c]) / std[c]` in float32 (`ToTensor` + `Normalize`).
    func normalizeImages(pixels: UnsafeBufferPointer<UInt8>, normalization: ImageNormalization, output: Tensor,
                         batch: Int, height: Int, width: Int)

    /// Pools `tokens` `[batch, length, dim]` into `output` `[batch, pooling.width(dim)]`: CLS, or CLS ⊕ the mean
    /// of tokens `prefixTokens ..< length` (the patches after CLS and registers).
    func pool(tokens: Tensor, output: Tensor, pooling: Pooling, batch: Int, length: Int, prefixTokens: Int, dim: Int)
}
