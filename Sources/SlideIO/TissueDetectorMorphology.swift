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

    /// Flood-fills (breadth-first) each component of value `target` and flips it when `flip(area, touchesBorder)`
    /// says so. Returns the number of components flipped. Extra memory: 4 bytes per pixel (the queue, which
    /// also lists the component); visited pixels are marked in place with the value 2 and restored at the end.
    private static func relabel(_ mask: inout [UInt8], width: Int, height: Int, target: UInt8, eightConnected: Bool,
                                flip: (Int, Bool) -> Bool) -> Int {
        guard width > 0, height > 0 else { return 0 }
        let count = width * height
        precondition(count <= Int(Int32.max), "mask of \(width)×\(height) px is too large")
        let visitedMark: UInt8 = 2
        let replacement: UInt8 = target == 0 ? 1 : 0
        var queue = [Int32](repeating: 0, count: count)  // each pixel is queued at most once
        var flipped = 0
        mask.withUnsafeMutableBufferPointer { mask in
            queue.withUnsafeMutableBufferPointer { queue in
                for start in 0 ..< count where mask[start] == target {
                    mask[start] = visitedMark
                    queue[0] = Int32(start)
                    var head = 0
                    var tail = 1
                    var touchesBorder = false
                    while head < tail {
                        let index = Int(queue[head])
                        head += 1
                        let y = index / width
                        let x = index - y * width
                        let left = x > 0, right = x < width - 1, up = y > 0, down = y < height - 1
                        if !(left && right && up && down) { touchesBorder = true }
                        @inline(__always) func visit(_ neighbour: Int) {
                            if mask[neighbour] == target {
                                mask[neighbour] = visitedMark
                                queue[tail] = Int32(neighbour)
                                tail += 1
                            }
                        }
                        if left { visit(index - 1) }
                        if right { visit(index + 1) }
                        if up { visit(index - width) }
                        if down { visit(index + width) }
                        if eightConnected {
                            if up && left { visit(index - width - 1) }
                            if up && right { visit(index - width + 1) }
                            if down && left { visit(index + width - 1) }
                            if down && right { visit(index + width + 1) }
                        }
                    }
                    // queue[0 ..< tail] is the component.
                    if flip(tail, touchesBorder) {
                        for position in 0 ..< tail { mask[Int(queue[position])] = replacement }
                        flipped += 1
                    }
                }
                for index in 0 ..< count where mask[index] == visitedMark { mask[index] = target }
            }
        }
        return flipped
    }
}
