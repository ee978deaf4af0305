import Foundation

/// Goodness-of-fit helpers for the sampler tests: fixed seeds make every test deterministic, and the bounds are
/// at p ≈ 10⁻⁴, so a correct sampler passes and a wrong distribution (a shifted range, a missing rounding, a
/// biased permutation) fails.
enum Statistics {
    /// Upper 10⁻⁴ quantile of χ² with `degrees` degrees of freedom (Wilson–Hilferty, z = 3.719).
    static func chiSquareCritical(degrees: Int) -> Double {
        let k = Double(degrees), z = 3.719
        let term = 1 - 2 / (9 * k) + z * (2 / (9 * k)).squareRoot()
        return k * term * term * term
    }

    /// Two-sample χ² statistic of two histograms over the same bins (bins where both are empty are skipped) and
    /// its degrees of freedom. Adjacent bins are merged until each holds at least `minimum` draws of both
    /// samples together, so small expected counts do not inflate it.
    static func twoSampleChiSquare(_ a: [Int], _ b: [Int], minimum: Int = 40) -> (statistic: Double, degrees: Int) {
        precondition(a.count == b.count)
        var mergedA: [Int] = [], mergedB: [Int] = []
        var sumA = 0, sumB = 0
        for index in a.indices {
            sumA += a[index]
            sumB += b[index]
            if sumA + sumB >= minimum {
                mergedA.append(sumA)
                mergedB.append(sumB)
                sumA = 0
                sumB = 0
            }
        }
        if sumA + sumB > 0 {
            if mergedA.isEmpty {
                mergedA.append(sumA)
                mergedB.append(sumB)
            } else {
                mergedA[mergedA.count - 1] += sumA
                mergedB[mergedB.count - 1] += sumB
            }
        }
        let totalA = Double(mergedA.reduce(0, +)), totalB = Double(mergedB.reduce(0, +))
        let ka = (totalB / totalA).squareRoot(), kb = (totalA / totalB).squareRoot()
        var statistic = 0.0
        for index in mergedA.indices {
            let x = Double(mergedA[index]), y = Double(mergedB[index])
            let difference = ka * x - kb * y
            statistic += difference * difference / (x + y)
        }
        return (statistic, max(1, mergedA.count - 1))
    }

    /// Whether the two histograms could come from one distribution (χ² below its 10⁻⁴ quantile).
    static func sameDistribution(_ a: [Int], _ b: [Int]) -> (Bool, String) {
        let (statistic, degrees) = twoSampleChiSquare(a, b)
        let critical = chiSquareCritical(degrees: degrees)
        return (statistic < critical, "χ² = \(statistic) with \(degrees) degrees of freedom (critical \(critical))")
    }

    /// One-sample χ² of `counts` against equal probabilities.
    static func uniform(_ counts: [Int]) -> (Bool, String) {
        let total = Double(counts.reduce(0, +)), expected = total / Double(counts.count)
        let statistic = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        let critical = chiSquareCritical(degrees: counts.count - 1)
        return (statistic < critical, "χ² = \(statistic) with \(counts.count - 1) degrees of freedom (critical \(critical))")
    }

    /// Whether `successes` of `trials` is within 4.5 standard deviations of probability `p` (exact for p = 0, 1).
    static func binomial(_ successes: Int, _ trials: Int, p: Double) -> (Bool, String) {
        if p == 0 || p == 1 { return (successes == Int(p) * trials, "\(successes)/\(trials) for p = \(p)") }
        let mean = Double(trials) * p, sd = (Double(trials) * p * (1 - p)).squareRoot()
        let z = (Double(successes) - mean) / sd
        return (abs(z) < 4.5, "\(successes)/\(trials) for p = \(p): z = \(z)")
    }
}
