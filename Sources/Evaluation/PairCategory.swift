/// The robustness categories of a slide pair (PB `utils/aggregate.py::get_results`), from the slides'
/// staining and scanner names. A pair can be in several: every pair is in `all`.
public enum PairCategory: String, Sendable, Codable, CaseIterable {
    /// Same staining (so the scanners differ): `staining_a == staining_b`.
    case interScanner = "inter-scanner"
    /// Same scanner (so the stainings differ): `scanner_a == scanner_b`.
    case interStaining = "inter-staining"
    /// Staining and scanner both differ.
    case interScannerInterStaining = "inter-scanner, inter-staining"
    /// Every pair.
    case all

    /// Whether a pair of slides with these stainings and scanners belongs to the category.
    public func contains(stainings: (String, String), scanners: (String, String)) -> Bool {
        switch self {
        case .interScanner: stainings.0 == stainings.1
        case .interStaining: scanners.0 == scanners.1
        case .interScannerInterStaining: stainings.0 != stainings.1 && scanners.0 != scanners.1
        case .all: true
        }
    }
}
