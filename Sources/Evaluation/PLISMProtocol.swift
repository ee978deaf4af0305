/// The PLISM-WSI slide sets (`evaluation-spec.md` §1.1; PB `engine/evaluate.py`): 13 stainings × 7
/// scanners, 16,278 registered tiles per slide.
public enum PLISMProtocol {
    /// The 13 H&E staining conditions of plismbench.
    public static let stainings = ["GIV", "GIVH", "GM", "GMH", "GV", "GVH", "HR", "HRH", "KR", "KRH", "LM", "LMH", "MY"]
    /// The 7 whole-slide scanners.
    public static let scanners = ["AT2", "GT450", "P", "S210", "S360", "S60", "SQ"]
    /// Tiles per slide in Owkin's release.
    public static let tilesPerSlide = 16_278
    /// The tile subset sizes plismbench ships as `assets/tiles_subset_{n}.npy` (8,139, half the tiles, is its
    /// default and the leaderboard's).
    public static let subsetSizes = [460, 2_713, 5_426, 8_139]
    /// SHA-256 of plismbench's `assets/tiles_subset_{n}.npy` at owkin/plism-benchmark@b4f32b7.
    public static let subsetSHA256: [Int: String] = [
        460: "6526e1c43f329c16d1282e59feb5688aca827bde678320e86b3fc5c12567807f",
        2_713: "5299caccb226cd3f5ae466cf1d9b620167bde598f2d02e8fbbc7a84d0dbf3698",
        5_426: "4941e90d717e846a0aab5ffd8fa121948619002cd1d07192a97cc074ab6b9f67",
        8_139: "7d3c5cb3cd5364263a388d0bb4ad25b0dfa117f9718c4f69688e427a77ebb298",
    ]

    /// The slide names of a staining × scanner grid, `{STAIN}_{SCANNER}_to_GMH_S60.tif`, staining-major.
    /// All 13 × 7 give plismbench's 91 slides; the paper's v1 protocol used 3 stainings × 7 scanners
    /// (21 slides; the two stainings besides GMH are not named anywhere, `evaluation-spec.md` §7).
    public static func slideNames(stainings: [String] = stainings, scanners: [String] = scanners) -> [String] {
        stainings.flatMap { staining in scanners.map { "\(staining)_\($0)_to_GMH_S60.tif" } }
    }
}
