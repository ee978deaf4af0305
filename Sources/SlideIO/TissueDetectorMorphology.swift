/// Area-based cleanup of a binary mask (1 = foreground): removing small foreground components and filling
/// small holes, as `skimage.morphology.remove_small_objects` / `remove_small_holes` do (TRIDENT's Otsu
/// segmenter) and as CLAM's contour filter does with its `a_t` (minimum tissue area) and `a_h` (minimum hole
/// area) parameters.
///
/// Connectivity: foreground components are 8-connected (like OpenCV's contours in CLAM); holes are the
/// 4-connected background components that do not touch the mask border (the dual connectivity, so a diagonal
/// gap in a tissue outline does not count as enclosing a hole). Areas are in mask px; mask values must be 0 or 1.
public enum MaskMorphology {
    /// Sets to 0 every 8-connected foreground component with fewer than `minimumArea` px.
    /// - Returns: the number of components removed.
    @discardableResult
    public static func removeSmallComponents(_ mask: inout [UInt8], width: Int, height: Int, minimumArea: Int) -> Int {
        precondition(mask.count == width * height, "mask of \(width)×\(height) needs \(width * height) values")
        guard minimumArea > 1 else { return 0 }
        return relabel(&mask, width: width, height: height, target: 1, eightConnected: true) { area, _ in
            area < minimumArea
        }
    }

    /// Sets to 1 every hole (4-connected background component not touching the border) with fewer than
    /// `maximumArea` px. Larger holes stay background (field case B2: white holes inside tissue are not tissue).
    /// - Returns: the number of holes filled.
    @discardableResult
    public static func fillSmallHoles(_ mask: inout [UInt8], width: Int, height: Int, maximumArea: Int) -> Int {
        precondition(mask.count == width * height, "mask of \(width)×\(height) needs \(width * height) values")
        guard maximumArea > 1 else { return 0 }
        return relabel(&mask, width: width, height: height, target: 0, eightConnected: false) { area, touchesBorder in
            !touchesBorder && area < maximumArea
        }
    }

    /// Labels the components of value `target` by their row runs (a run is a maximal horizontal stretch of
    /// `target`; runs of neighbouring rows that touch — overlap, or also meet diagonally when
    /// `eightConnected` — are joined with union–find), and flips each component for which
    /// `flip(area, touchesBorder)` says so. Returns the number of components flipped. Work is one pass over
    /// the pixels plus O(runs); extra memory 3 `Int32` per run.
    private static func relabel(_ mask: inout [UInt8], width: Int, height: Int, target: UInt8, eightConnected: Bool,
                                flip: (Int, Bool) -> Bool) -> Int {
        guard width > 0, height > 0 else { return 0 }
        precondition(width * height <= Int(Int32.max), "mask of \(width)×\(height) px is too large")
        let replacement: UInt8 = target == 0 ? 1 : 0
        // Runs: starts[r] ..< ends[r] on row rows[r]; rowFirst[y] ..< rowFirst[y + 1] are row y's runs.
        var starts: [Int32] = [], ends: [Int32] = [], rows: [Int32] = []
        var rowFirst = [Int](repeating: 0, count: height + 1)
        mask.withUnsafeBufferPointer { mask in
            for y in 0 ..< height {
                rowFirst[y] = starts.count
                let row = mask.baseAddress! + y * width
                var x = 0
                while x < width {
                    while x < width && row[x] != target { x += 1 }
                    guard x < width else { break }
                    let start = x
                    while x < width && row[x] == target { x += 1 }
                    starts.append(Int32(start))
                    ends.append(Int32(x))
                    rows.append(Int32(y))
                }
            }
            rowFirst[height] = starts.count
        }
        let count = starts.count
        guard count > 0 else { return 0 }
        var parent = (0 ..< count).map { Int32($0) }
        func root(_ run: Int) -> Int {
            var node = run
            while Int(parent[node]) != node {
                parent[node] = parent[Int(parent[node])]  // path halving
                node = Int(parent[node])
            }
            return node
        }
        // Join each run with the runs of the row above that touch it (two pointers over both rows).
        let reach: Int32 = eightConnected ? 1 : 0
        for y in 1 ..< max(height, 1) {
            var above = rowFirst[y - 1]
            let aboveEnd = rowFirst[y]
            for run in rowFirst[y] ..< rowFirst[y + 1] {
                let lo = starts[run] - reach, hi = ends[run] + reach
                // Skip runs above that end before this one can touch them.
                while above < aboveEnd && ends[above] <= lo { above += 1 }
                var candidate = above
                while candidate < aboveEnd && starts[candidate] < hi {
                    let a = root(run), b = root(candidate)
                    if a != b { parent[max(a, b)] = Int32(min(a, b)) }
                    candidate += 1
                }
            }
        }
        // Area and border contact per component (at its root).
        var area = [Int](repeating: 0, count: count)
        var border = [Bool](repeating: false, count: count)
        for run in 0 ..< count {
            let r = root(run)
            area[r] += Int(ends[run] - starts[run])
            if rows[run] == 0 || Int(rows[run]) == height - 1 || starts[run] == 0 || Int(ends[run]) == width { border[r] = true }
        }
        var flipped = 0
        var decision = [Int8](repeating: -1, count: count)  // per root: -1 undecided, 0 keep, 1 flip
        mask.withUnsafeMutableBufferPointer { mask in
            for run in 0 ..< count {
                let r = root(run)
                if decision[r] < 0 {
                    decision[r] = flip(area[r], border[r]) ? 1 : 0
                    if decision[r] == 1 { flipped += 1 }
                }
                if decision[r] == 1 {
                    let row = mask.baseAddress! + Int(rows[run]) * width
                    for x in Int(starts[run]) ..< Int(ends[run]) { row[x] = replacement }
                }
            }
        }
        return flipped
    }
}
