/// The `ema` stage's inputs do not form one run of consecutive steps.
public struct EMAStageError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "ema: \(message)" }
}
