/// A stage asked to run on a device this build has no backend for (`device: cuda` before the CUDA backend,
/// issue #9): one clear error instead of a silent fallback to the CPU.
public struct DeviceUnavailableError: Error, CustomStringConvertible {
    public let stage: String
    public let device: String
    public var description: String {
        "stage \(stage): device '\(device)' is not available in this build (only the CPU backend exists yet; the CUDA backend is issue #9); set device: cpu"
    }
}
