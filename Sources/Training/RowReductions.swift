/// Vectorised reductions over one row of `Float`s (eight lanes), shared by the losses. Sums are taken in
/// blocks of 512 elements in `Float` lanes and carried across blocks in `Double`, so that a row of 131,072
/// prototypes keeps ~1e-7 relative accuracy.
enum RowReductions {
    typealias V = SIMD8<Float>
    static let block = 512

    /// The index of the first non-finite element (NaN or ±∞), or nil.
    @inline(__always)
    static func firstNonFinite(_ x: UnsafePointer<Float>, _ count: Int) -> Int? {
        let full = count & ~7
        var index = 0
        let zero = V()
        while index < full {
            let v = load(x, index)
            if any((v - v) .!= zero) { break }
            index += 8
        }
        while index < count {
            if !x[index].isFinite { return index }
            index += 1
        }
        return nil
    }

    /// The largest element (−∞ for an empty row).
    @inline(__always)
    static func maximum(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
        let full = count & ~7
        var lanes = V(repeating: -.infinity)
        var index = 0
        while index < full {
            let v = load(x, index)
            lanes = lanes.replacing(with: v, where: v .> lanes)
            index += 8
        }
        var result = lanes.max()
        while index < count {
            result = Swift.max(result, x[index])
            index += 1
        }
        return result
    }

    /// Σ x.
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, _ count: Int) -> Double {
        var total = 0.0
        var start = 0
        while start < count {
            let end = Swift.min(count, start + block)
            var lanes = V()
            var index = start
            while index + 8 <= end {
                lanes += load(x, index)
                index += 8
            }
            var partial = Double(lanes.sum())
            while index < end {
                partial += Double(x[index])
                index += 1
            }
            total += partial
            start = end
        }
        return total
    }

    /// Σ a·b.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Double {
        var total = 0.0
        var start = 0
        while start < count {
            let end = Swift.min(count, start + block)
            var lanes = V()
            var index = start
            while index + 8 <= end {
                lanes += load(a, index) * load(b, index)
                index += 8
            }
            var partial = Double(lanes.sum())
            while index < end {
                partial += Double(a[index]) * Double(b[index])
                index += 1
            }
            total += partial
            start = end
        }
        return total
    }

    @inline(__always)
    static func load(_ x: UnsafePointer<Float>, _ index: Int) -> V {
        UnsafeRawPointer(x + index).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func store(_ value: V, _ x: UnsafeMutablePointer<Float>, _ index: Int) {
        UnsafeMutableRawPointer(x + index).storeBytes(of: value, as: V.self)
    }
}
