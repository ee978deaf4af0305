import Compute

/// A flat `f32` tensor on a backend's device laid out by a `ParameterLayout`, with a view per name: a model's or
/// module's parameters (`ViTParameters` for a backbone), or their gradients (same layout, so element `i` of one
/// is the gradient of element `i` of the other). Sendable: the struct holds only the layout and the tensor.
public struct ParameterBuffer: Sendable {
    public let layout: ParameterLayout
    /// All elements, `[layout.count]`.
    public let flat: Tensor

    /// Wraps `flat`.
    /// - Precondition: `flat.count == layout.count`.
    public init(layout: ParameterLayout, flat: Tensor) {
        precondition(flat.count == layout.count, "\(flat) for \(layout.count) parameters")
        self.layout = layout
        self.flat = flat
    }

    /// A new buffer on `backend`, filled with zeros.
    public static func zeros(layout: ParameterLayout, backend: any Backend) -> ParameterBuffer {
        let flat = backend.makeTensor(shape: [layout.count])
        backend.fill(flat, value: 0, count: layout.count)
        return ParameterBuffer(layout: layout, flat: flat)
    }

    /// The view of `name` in its PyTorch shape.
    /// - Precondition: the layout has `name`.
    public subscript(name: String) -> Tensor {
        guard let parameter = layout.parameter(name) else { preconditionFailure("no parameter \(name)") }
        return flat.view(offset: parameter.offset, shape: parameter.shape)
    }

    /// The view of `name` if the layout has it (e.g. `ls1.gamma` only with LayerScale).
    public func optional(_ name: String) -> Tensor? {
        layout.parameter(name).map { flat.view(offset: $0.offset, shape: $0.shape) }
    }
}
