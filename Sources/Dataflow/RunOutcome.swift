/// Why a run was asked to stop before its sources ended.
public enum StopRequest: Sendable, Equatable, CustomStringConvertible {
    /// SIGINT (Ctrl-C): drain, exit code 130.
    case interrupt
    /// SIGTERM: drain, exit code 143.
    case terminate
    /// A caller (test, embedding program) asked for a drain.
    case requested

    public var description: String {
        switch self {
        case .interrupt: return "SIGINT"
        case .terminate: return "SIGTERM"
        case .requested: return "stop request"
        }
    }
}

/// How a run ended.
public enum RunOutcome: Sendable, Equatable {
    /// Every stage finished.
    case completed
    /// A stage failed; the first failure, as `stage` (task label) and message.
    case failed(stage: String, message: String)
    /// Drained after a stop request.
    case stopped(StopRequest)

    /// The process exit code: 0, 1, or 128 + signal (130 SIGINT, 143 SIGTERM).
    public var exitCode: Int32 {
        switch self {
        case .completed: return 0
        case .failed: return 1
        case .stopped(.interrupt): return 130
        case .stopped(.terminate): return 143
        case .stopped(.requested): return 0
        }
    }
}

/// A task still running when the run gave up waiting for it.
public struct HungTask: Sendable, Equatable, CustomStringConvertible {
    /// Task label: `stage`, `stage#2`, `stage/deal`.
    public let label: String
    /// The stage name.
    public let stage: String
    /// What it was doing, if it is a replica.
    public let phase: ReplicaPhase?
    /// Seconds since it entered that phase.
    public let secondsInPhase: Double

    public var description: String {
        guard let phase else { return "'\(label)' did not stop" }
        return "'\(label)' did not stop (\(phase) for \(Decimal3.string(secondsInPhase)) s)"
    }
}

/// The result of ``GraphRun/run()``.
public struct RunResult: Sendable {
    public let outcome: RunOutcome
    /// Tasks that did not stop within the drain timeout, by name.
    public let hung: [HungTask]
    /// The final stats.
    public let snapshot: GraphSnapshot
    /// Whether a stopped run's drain was cut short (a second stop request, or `drain_timeout`): stages were
    /// cancelled with items in flight.
    public var drainCutShort = false
}
