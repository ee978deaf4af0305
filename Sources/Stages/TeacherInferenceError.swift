/// Errors of `teacher-inference`.
public enum TeacherInferenceError: Error, CustomStringConvertible {
    /// A crop set whose global crops are not `[G, 3, S, S]` with S a multiple of the patch size.
    case badCrops(slideID: String, x: Int, y: Int, shape: [Int], model: String, patchSize: Int)

    public var description: String {
        switch self {
        case let .badCrops(slideID, x, y, shape, model, patchSize):
            return "sample \(slideID) (\(x), \(y)): global crops of shape \(shape) cannot go through \(model) "
                + "(expected [G, 3, S, S] with S a multiple of \(patchSize))"
        }
    }
}
