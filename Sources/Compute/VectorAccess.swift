/// Eight-lane loads and stores on `Float` buffers for the CPU kernels (unaligned; a partial vector at a
/// buffer's tail is padded with `fill` on load and stored lane by lane).
extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always)
    func vector(at index: Int) -> SIMD8<Float> {
        UnsafeRawPointer(self + index).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    func store(_ value: SIMD8<Float>, at index: Int) {
        UnsafeMutableRawPointer(self + index).storeBytes(of: value, as: SIMD8<Float>.self)
    }

    /// Lanes `0 ..< lanes` (`lanes` ≤ 8) from `index`, the rest 0: a whole vector when `lanes` is 8.
    @inline(__always)
    func vector(at index: Int, lanes: Int) -> SIMD8<Float> {
        lanes == 8 ? vector(at: index) : partialVector(at: index, count: lanes)
    }

    /// Lanes `0 ..< count` (count < 8) from `index`, the rest `fill`.
    @inline(__always)
    func partialVector(at index: Int, count: Int, fill: Float = 0) -> SIMD8<Float> {
        var value = SIMD8<Float>(repeating: fill)
        for lane in 0..<count { value[lane] = self[index + lane] }
        return value
    }

    /// Stores lanes `0 ..< count` (count < 8) at `index`.
    @inline(__always)
    func storePartial(_ value: SIMD8<Float>, at index: Int, count: Int) {
        for lane in 0..<count { self[index + lane] = value[lane] }
    }
}
