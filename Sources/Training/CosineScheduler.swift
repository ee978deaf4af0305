import Foundation

/// DINOv2's `CosineScheduler` (distillation-spec.md §5.2; `dinov2/utils/utils.py`), value for value in float64:
///
///     schedule = zeros(freeze)
///              ⧺ linspace(startWarmup, base, warmup)                          both ends included
///              ⧺ [final + 0.5·(base − final)·(1 + cos(π·i/M)) for i in 0..<M]   M = total − warmup − freeze
///     value(it) = schedule[it] if it < total else final
///
/// `linspace` is NumPy's (`i·step + start` with `step = (base − start)/(warmup − 1)`, last value `base`), and
/// the cosine term is evaluated in NumPy's order, so values agree with the Python schedule to the last bit
/// wherever `cos` does.
public struct CosineScheduler: Sendable, Equatable {
    /// Peak value (reached at the end of the warmup) and the value the cosine ends at.
    public let baseValue: Double, finalValue: Double
    /// Iterations covered by the table (`value(it) = finalValue` beyond).
    public let totalIterations: Int
    /// Linear warmup length and its first value.
    public let warmupIterations: Int, startWarmupValue: Double
    /// Leading iterations at 0.
    public let freezeIterations: Int
    /// The table, `totalIterations` values.
    public private(set) var schedule: [Double]

    /// - Throws: `TrainingError.invalidConfiguration` when `warmup + freeze > total` or a length is negative.
    public init(baseValue: Double, finalValue: Double, totalIterations: Int, warmupIterations: Int = 0,
                startWarmupValue: Double = 0, freezeIterations: Int = 0) throws(TrainingError) {
        guard totalIterations >= 0, warmupIterations >= 0, freezeIterations >= 0,
              warmupIterations + freezeIterations <= totalIterations else {
            throw .invalidConfiguration("cosine schedule of \(totalIterations) iterations cannot hold \(warmupIterations) warmup and \(freezeIterations) frozen iterations")
        }
        self.baseValue = baseValue
        self.finalValue = finalValue
        self.totalIterations = totalIterations
        self.warmupIterations = warmupIterations
        self.startWarmupValue = startWarmupValue
        self.freezeIterations = freezeIterations
        var values = [Double](repeating: 0, count: freezeIterations)
        values.reserveCapacity(totalIterations)
        if warmupIterations == 1 {
            values.append(startWarmupValue)
        } else if warmupIterations > 1 {
            let step = (baseValue - startWarmupValue) / Double(warmupIterations - 1)
            for i in 0..<(warmupIterations - 1) { values.append(Double(i) * step + startWarmupValue) }
            values.append(baseValue)
        }
        let cosineLength = totalIterations - warmupIterations - freezeIterations
        let half = 0.5 * (baseValue - finalValue)
        for i in 0..<cosineLength {
            values.append(finalValue + half * (1 + Foundation.cos(Double.pi * Double(i) / Double(cosineLength))))
        }
        schedule = values
    }

    /// The value at `iteration` (≥ 0).
    public subscript(iteration: Int) -> Double {
        precondition(iteration >= 0, "negative iteration \(iteration)")
        return iteration < totalIterations ? schedule[iteration] : finalValue
    }

    /// Sets the first `count` values to 0 (DINOv2's last-layer lr: `schedule[:freeze_last_layer_epochs·EL] = 0`).
    public mutating func zeroFirst(_ count: Int) {
        for i in 0..<min(count, totalIterations) { schedule[i] = 0 }
    }
}
