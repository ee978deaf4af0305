/// A stage asked to run on a device it cannot use here: `device: cuda` on a machine where the CUDA driver or toolkit
/// does not load (the reason names the library and the files tried), or a stage without a CUDA path yet. One clear
/// error instead of a silent fallback to the CPU.
public struct DeviceUnavailableError: Error, CustomStringConvertible {
    public let stage: String
    public let device: String
    /// Why: the `CUDAError` text (e.g. "libcuda could not be loaded (tried 2: libcuda.so.1: cannot open shared object
    /// file: No such file or directory; …)").
    public let reason: String

    public init(stage: String, device: String, reason: String) {
        self.stage = stage
        self.device = device
        self.reason = reason
    }

    public var description: String {
        "stage \(stage): device '\(device)' is not available: \(reason); set device: cpu"
    }
}
