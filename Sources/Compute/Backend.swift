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
/// Forward kernels only for now; the training issue (#5) adds backward kernels, AdamW and EMA here, so
/// models gain a backward pass without changing their forward code.
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

    /// LayerNorm over the last dimension: `y = (x − μ)/√(σ² + eps)·weight + bias`, μ and biased σ² per row
    /// (`F.layer_norm`). `input`, `output`: `[rows, dim]`; `weight`, `bias`: `[dim]`. `output` may be `input`.
    func layerNorm(input: Tensor, weight: Tensor, bias: Tensor, output: Tensor, rows: Int, dim: Int, eps: Float)

    /// Row softmax of `scale·x`: `y[r, j] = exp(scale·(x[r, j] − max_r)) / Σ_j exp(scale·(x[r, j] − max_r))`.
    /// `input`, `output`: `[rows, columns]`; `output` may be `input`.
    func softmax(input: Tensor, output: Tensor, rows: Int, columns: Int, scale: Float)

    /// Multi-head self-attention without mask on a packed `qkv` (timm/DINOv2 `Attention` after the `qkv`
    /// Linear, before `proj`): `qkv` `[batch, tokens, 3, heads, headDim]` (q rows first, then k, then v, head
    /// `j` at columns `j·headDim` of each), `output` `[batch, tokens, heads, headDim]` =
    /// `softmax(q·kᵀ/√headDim)·v` per (image, head) (distillation-spec.md §2.2).
    func attention(qkv: Tensor, output: Tensor, batch: Int, tokens: Int, heads: Int, headDim: Int)

    /// GELU, exact erf form: `y = 0.5·x·(1 + erf(x/√2))` (`nn.GELU()`). `output` may be `input`.
    func gelu(input: Tensor, output: Tensor, count: Int)

    /// SiLU: `y = x·σ(x)` (`nn.SiLU`). `output` may be `input`.
    func silu(input: Tensor, output: Tensor, count: Int)

    /// Packed SwiGLU (timm `SwiGLUPacked` = `GluMlp(gate_last=False)`, DINOv2 `SwiGLUFFN`): `input`
    /// `[rows, 2·hidden]` is the `fc1`/`w12` output; `output[r, j] = silu(input[r, j]) · input[r, hidden + j]`,
    /// `[rows, hidden]` — the **first** half is the gate (distillation-spec.md §2.2).
    func swiGLU(input: Tensor, output: Tensor, rows: Int, hidden: Int)

    /// LayerScale and residual: `residual[r, d] += gamma[d] · branch[r, d]` (timm `ls1`/`ls2`), `[rows, dim]`;
    /// without `gamma` (a model without LayerScale) a plain residual add.
    func layerScaleResidual(residual: Tensor, branch: Tensor, gamma: Tensor?, rows: Int, dim: Int)

    /// Patch embedding, `Conv2d(channels, dim, kernel=patch, stride=patch)` then `flatten(2).transpose(1, 2)`:
    /// `images` `[batch, channels, height, width]`, `weight` `[dim, channels, patch, patch]`, `bias` `[dim]`,
    /// `output` `[batch, (height/patch)·(width/patch), dim]`, patch `n = row·(width/patch) + column`.
    func patchEmbed(images: Tensor, weight: Tensor, bias: Tensor, output: Tensor,
                    batch: Int, channels: Int, height: Int, width: Int, patch: Int, dim: Int)

    /// Resizes a grid of vectors `input` `[inputHeight, inputWidth, dim]` to `output` `[outputHeight,
    /// outputWidth, dim]` with one `BicubicResize` per axis (W first, then H).
    func resizeGrid(input: Tensor, output: Tensor, inputHeight: Int, inputWidth: Int, outputHeight: Int,
                    outputWidth: Int, dim: Int, rows: BicubicResize, columns: BicubicResize)

    /// The token sequence of a ViT with `no_embed_class` (timm layout): for each image,
    /// `output[b] = [cls, registers…, patches[b] + positions]`, `[batch, 1 + registers + patches, dim]`;
    /// `classToken` `[dim]`, `registerTokens` `[registers, dim]` (may be empty), `patchTokens`
    /// `[batch, patches, dim]`, `positions` `[patches, dim]`.
    func assembleTokens(patchTokens: Tensor, classToken: Tensor, registerTokens: Tensor, positions: Tensor,
                        output: Tensor, batch: Int, patches: Int, registers: Int, dim: Int)

    /// RGB8 pixels `[batch, height, width, 3]` (host memory, interleaved) → model input `[batch, 3, height,
    /// width]` on `device`: `(v/255 − mean[c]) / std[c]` in float32 (`ToTensor` + `Normalize`).
    func normalizeImages(pixels: UnsafeBufferPointer<UInt8>, normalization: ImageNormalization, output: Tensor,
                         batch: Int, height: Int, width: Int)

    /// Pools `tokens` `[batch, length, dim]` into `output` `[batch, pooling.width(dim)]`: CLS, or CLS ⊕ the mean
    /// of tokens `prefixTokens ..< length` (the patches after CLS and registers).
    func pool(tokens: Tensor, output: Tensor, pooling: Pooling, batch: Int, length: Int, prefixTokens: Int, dim: Int)
}
