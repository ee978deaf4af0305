#if canImport(Glibc)
import Glibc
#endif

/// eva's linear-probe learning-rate schedules, stepped once per epoch (Lightning's default interval;
/// `evaluation-spec.md` §2.3). Choose the paper-time (EV25) or current (EVH) variant explicitly.
public enum ProbeSchedule: Sendable, Equatable, Codable {
    /// EV25 (kaiko-ai/eva@71a2e18 configs): `CosineAnnealingLR(T_max, eta_min = 0)` stepped per epoch:
    /// lr(e) = base · ½ (1 + cos(π · e / T_max)) (T_max = 12,500, counted in epochs).
    case cosinePerEpoch(tMax: Int)
    /// EVH (eva@73b61a7): torch `ConstantLR` defaults, lr(e) = base · factor for e < epochs, then base
    /// (factor 1/3, 5 epochs).
    case constantWarmup(factor: Double, epochs: Int)
    /// A constant rate.
    case constant

    /// eva at the paper's time: cosine over 12,500 "epochs".
    public static let ev25 = ProbeSchedule.cosinePerEpoch(tMax: 12_500)
    /// eva today: 1/3 of the rate for 5 epochs.
    public static let evh = ProbeSchedule.constantWarmup(factor: 1.0 / 3.0, epochs: 5)

    /// The learning rate in epoch `epoch` (0-based) for base rate `base`.
    public func rate(epoch: Int, base: Double) -> Double {
        switch self {
        case .cosinePerEpoch(let tMax):
            return base * (1 + cos(Double.pi * Double(epoch) / Double(tMax))) / 2
        case .constantWarmup(let factor, let epochs):
            return epoch < epochs ? base * factor : base
        case .constant:
            return base
        }
    }
}
