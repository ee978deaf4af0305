/// A train state that cannot be written, or a train-state checkpoint that does not fit the run reading it
/// (`TrainCheckpoint`). Every case names the file. Key mismatches are Models' `CheckpointError`; unreadable or
/// malformed files are `SafetensorsError`.
public enum TrainCheckpointError: Error, Equatable, CustomStringConvertible {
    /// The state has no EMA (`TrainState.ema == nil`): a checkpoint without it would restart the EMA from the
    /// student on resume (field case E2).
    case missingEMA(path: String)
    /// The state does not fit the layout (a buffer of the wrong size, a centre of another K) or its counters
    /// disagree (iteration, optimiser step and EMA updates must be equal).
    case stateMismatch(path: String, reason: String)
    /// A metadata entry is missing, malformed, inconsistent, or (when writing) a caller's key collides with the
    /// format's own.
    case badMetadata(path: String, key: String, reason: String)
    /// The file was written for another student: each line names one differing setting, e.g.
    /// `heads.dino_head.prototypes: file 1024, layout 256`.
    case layoutMismatch(path: String, differences: [String])
    /// A checksum over the restored tensors (`part`: student, ema, optimizer, centering) differs from the stored one.
    case checksumMismatch(path: String, part: String, stored: String, computed: String)

    public var description: String {
        switch self {
        case .missingEMA(let path):
            "\(path): cannot write a train state without its EMA (TrainState.ema is nil)"
        case .stateMismatch(let path, let reason):
            "\(path): the train state does not fit: \(reason)"
        case .badMetadata(let path, let key, let reason):
            "\(path): train-state metadata '\(key)': \(reason)"
        case .layoutMismatch(let path, let differences):
            "\(path): train state written for another student:\n  " + differences.joined(separator: "\n  ")
        case .checksumMismatch(let path, let part, let stored, let computed):
            "\(path): checksum of the restored \(part) tensors is \(computed), the file stores \(stored) (corrupt file)"
        }
    }
}
