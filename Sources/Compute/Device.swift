/// Where a tensor's storage lives.
public enum Device: Sendable, Hashable, CustomStringConvertible {
    /// Host memory, used by `CPUBackend`.
    case cpu
    /// A CUDA device by ordinal (the CUDA backend, issue #9).
    case cuda(Int)

    public var description: String {
        switch self {
        case .cpu: "cpu"
        case .cuda(let ordinal): "cuda:\(ordinal)"
        }
    }
}
