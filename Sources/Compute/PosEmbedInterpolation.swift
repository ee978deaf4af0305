/// How a ViT resamples its stored positional-embedding grid (e.g. 16×16 for 224 px) to another grid
/// (7×7 for 98 px crops). Both are bicubic on the `[D, gh, gw]` grid with `align_corners=False`; they give
/// different numbers (distillation-spec.md §2.8).
public enum PosEmbedInterpolation: String, Sendable, Hashable, CaseIterable, Codable {
    /// DINOv2 training (`interpolate_offset: 0.1`, `interpolate_antialias: false`): `F.interpolate(grid,
    /// scale_factor=((n + 0.1)/N, …), mode="bicubic", antialias=False)`
    /// [dinov2:dinov2/models/vision_transformer.py `interpolate_pos_encoding`].
    case dinov2
    /// timm with `dynamic_img_size=True`: `resample_abs_pos_embed`, i.e. `F.interpolate(grid, size=(n, n),
    /// mode="bicubic", antialias=True)` [timm:timm/layers/pos_embed.py].
    case timm

    /// The DINOv2 offset added to the target grid size before dividing (`interpolate_offset`).
    public static let dinov2Offset = 0.1

    /// The resize along one axis from `stored` to `target` positions.
    public func resize(stored: Int, target: Int) -> BicubicResize {
        switch self {
        case .dinov2: BicubicResize(scaleFactor: (Double(target) + Self.dinov2Offset) / Double(stored), antialias: false)
        case .timm: BicubicResize(scaleFactor: nil, antialias: true)
        }
    }
}
