import Compute
import Models

/// Named views of one module's parameters inside the device training buffers (docs/cuda.md "The step on the
/// device"): the f32 master copy (LayerNorm, LayerScale, tokens, biases of the fused activations, the head's
/// weight-norm factors), its bf16 mirror at the same offsets (GEMM weights, bias epilogues) and the f32 gradient
/// buffer (nil for the frozen teacher heads). `layout` gives the module's names (timm / DINOv2) and offsets
/// relative to `base`, the module's first element in the flat buffers.
struct CUDAParameterViews: @unchecked Sendable {
    let layout: ParameterLayout
    let base: Int
    let master: Tensor
    let mirror: Tensor
    let gradients: Tensor?

    private func view(_ flat: Tensor, _ name: String) -> Tensor {
        guard let parameter = layout.parameter(name) else { preconditionFailure("no parameter \(name)") }
        return flat.view(offset: base + parameter.offset, shape: parameter.shape)
    }

    /// Whether the module has parameter `name` (`ls1.gamma`, `attn.qkv.bias`, `reg_token` are optional).
    func has(_ name: String) -> Bool { layout.parameter(name) != nil }
    /// `name` in f32 (the master copy).
    func f32(_ name: String) -> Tensor { view(master, name) }
    /// `name` in bf16 (the mirror).
    func bf16(_ name: String) -> Tensor { view(mirror, name) }
    /// dL/d`name` (f32).
    func gradient(_ name: String) -> Tensor {
        guard let gradients else { preconditionFailure("gradient of \(name) in a frozen module") }
        return view(gradients, name)
    }
    /// `f32(name)` when present.
    func optionalF32(_ name: String) -> Tensor? { has(name) ? f32(name) : nil }
    /// `gradient(name)` when present.
    func optionalGradient(_ name: String) -> Tensor? { has(name) ? gradient(name) : nil }
}
