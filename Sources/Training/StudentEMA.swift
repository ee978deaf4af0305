/// The spare exponential moving average of the student's backbone, H0-mini's final model (paper §3.1.1 "we keep a
/// spare EMA of the student"; distillation-spec.md §5.5). After every optimiser step at iteration `it`:
///
///     θ_ema ← θ_ema·m + (1 − m)·θ_student        m = momentum schedule[it] (0.992 → 1, cosine)
///
/// in float32 as DINOv2's `update_teacher` (`torch._foreach_mul_(ema, m)`, then `torch._foreach_add_(ema,
/// student, alpha=1 − m)`, whose CPU kernel fuses the multiply-add). It starts as an exact copy of the initial
/// student and never feeds back into training. Only the backbone is averaged: the heads are not part of the
/// exported model.
public struct StudentEMA: Sendable, Equatable {
    /// θ_ema, the backbone's parameters in `ParameterLayout` order, `[count]`.
    public private(set) var parameters: [Float]
    /// Updates applied so far (= optimiser steps of the student it follows).
    public private(set) var updates: Int

    /// An EMA starting at `parameters` (the initial student backbone), or a saved one with its update count.
    public init(parameters: [Float], updates: Int = 0) {
        precondition(updates >= 0, "EMA update count \(updates) < 0")
        self.parameters = parameters
        self.updates = updates
    }

    /// One update from the student backbone `student` (`[parameters.count]`) with momentum `momentum`.
    public mutating func update(student: UnsafeBufferPointer<Float>, momentum: Double) {
        precondition(student.count == parameters.count, "EMA of \(parameters.count) parameters updated with \(student.count)")
        let m = Float(momentum), alpha = Float(1 - momentum)
        parameters.withUnsafeMutableBufferPointer { ema in
            for i in 0..<ema.count {
                let decayed = ema[i] * m
                ema[i] = decayed.addingProduct(student[i], alpha)
            }
        }
        updates += 1
    }
}
