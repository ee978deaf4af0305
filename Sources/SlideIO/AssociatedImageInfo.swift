/// An associated image of a slide (label, macro, thumbnail, …) and its size in its own pixels.
public struct AssociatedImageInfo: Sendable, Equatable, Codable {
    /// The name OpenSlide gives it (`label`, `macro`, `thumbnail`, …).
    public let name: String
    /// Width in px.
    public let width: Int
    /// Height in px.
    public let height: Int

    /// An associated image's name and size.
    public init(name: String, width: Int, height: Int) {
        self.name = name
        self.width = width
        self.height = height
    }
}
