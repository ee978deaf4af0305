import Foundation
import Testing
@testable import SlideIO

/// The resolution resolver on the real slides, the synthetic TIFF-tag fixtures, property tables, and the
/// per-slide override CSV (field cases R1, R2, R4, R5, R6, R7).
@Suite("Resolution")
struct ResolutionTests {
    // MARK: - Real slides

    @Test("CMU-1-Small-Region.svs: 0.499 µm/px from aperio.MPP")
    func aperio() throws {
        let resolved = try ResolutionResolver().resolve(try Slide(path: SlidePaths.cmu))
        #expect(resolved.x == 0.499 && resolved.y == 0.499)
        #expect(resolved.source == .vendorProperty(key: "aperio.MPP"))
        #expect(resolved.warnings.isEmpty)
    }

    @Test("the NDPI: 0.22818 µm/px from openslide.mpp-x/y (3.4.1 exposes no hamamatsu resolution key)")
    func ndpi() throws {
        let resolved = try ResolutionResolver().resolve(try Slide(path: SlidePaths.ndpi))
        #expect(abs(resolved.x - 0.22818) < 5e-6 && abs(resolved.y - 0.22818) < 5e-6)
        #expect(resolved.source == .openSlideProperties)
    }

    @Test("tcga-cr-7395 has no resolution: a clear error listing what was tried and how to override (R1)")
    func tcgaWithoutResolution() throws {
        let error = slideError { try ResolutionResolver().resolve(try Slide(path: SlidePaths.tcga)) }
        guard case .noResolution(let path, let tried)? = error else {
            Issue.record("expected noResolution, got \(String(describing: error))")
            return
        }
        #expect(path == SlidePaths.tcga)
        #expect(tried.count == 5)
        #expect(tried[0].contains("per-slide override") && tried[1].contains("per-run override"))
        #expect(tried[2].contains("aperio.MPP") && tried[3].contains("openslide.mpp-x/y: absent"))
        #expect(tried[4].contains("tiff.XResolution/YResolution: absent") && tried[4].contains("inch"))
        let text = error?.description ?? ""
        #expect(text.contains("tcga-cr-7395-01a-01-ts1.svs") && text.contains("--mpp-override") && text.contains("slide,mpp"))
    }

    @Test("tcga-cr-7395 with a per-run override resolves, with provenance")
    func tcgaWithOverride() throws {
        let resolved = try ResolutionResolver(runOverride: 0.2527).resolve(try Slide(path: SlidePaths.tcga))
        #expect(resolved.x == 0.2527 && resolved.y == 0.2527 && resolved.source == .runOverride)
        #expect(resolved.warnings.isEmpty, "nothing in the metadata to disagree with")
    }

    @Test("osp-boxes.tiff: 3.4.1 gives only 72-dpi tags (28.35 px/cm): ignored as a placeholder, no resolution (R2)")
    func boxesPlaceholder() throws {
        let slide = try Slide(path: SlidePaths.boxes)
        #expect(slide.properties["openslide.mpp-x"] == nil)
        #expect(slide.properties["tiff.ResolutionUnit"] == "centimeter")
        let error = slideError { try ResolutionResolver().resolve(slide) }
        guard case .noResolution(_, let tried)? = error else {
            Issue.record("expected noResolution, got \(String(describing: error))")
            return
        }
        #expect(tried.last?.contains("72 dpi placeholder") == true)
        #expect(tried.last?.contains("352.7") == true, "says what the tag would have meant")
    }

    @Test("osp-unreadable.svs resolves (0.499) although its pixels do not decode: the corruption is a read error (R7)")
    func corruptButResolvable() throws {
        let slide = try Slide(path: SlidePaths.unreadable)
        #expect(try ResolutionResolver().resolve(slide).x == 0.499)
        guard case .readFailed? = slide.probeReads() else {
            Issue.record("the probe must report the undecodable pixels")
            return
        }
    }

    // MARK: - Synthetic TIFF fixtures through OpenSlide

    struct TagCase: Sendable, CustomTestStringConvertible {
        let file: String
        let mpp: Double?
        let unit: ResolutionUnit?
        var testDescription: String { file }
    }

    static let tagCases: [TagCase] = [
        TagCase(file: "res-cm-40000.tiff", mpp: 0.25, unit: .centimeter),
        TagCase(file: "res-inch-101600.tiff", mpp: 0.25, unit: .inch),
        TagCase(file: "res-cm-39573.tiff", mpp: 0.2527, unit: .centimeter),
        TagCase(file: "res-72dpi.tiff", mpp: nil, unit: nil),
        TagCase(file: "res-none.tiff", mpp: nil, unit: nil),
    ]

    @Test("generic TIFF resolution tags with units, through OpenSlide 3.4.1 (R2, R4, R5)", arguments: tagCases)
    func tiffTags(_ tagCase: TagCase) throws {
        let path = SlidePaths.fixture(tagCase.file)
        let slide = try Slide(path: path)
        #expect(slide.vendor == "generic-tiff" && slide.levelCount == 2)
        #expect(slide.properties["openslide.mpp-x"] == nil, "3.4.1 does not convert TIFF tags for generic TIFFs")
        if let mpp = tagCase.mpp, let unit = tagCase.unit {
            let resolved = try ResolutionResolver().resolve(slide)
            #expect(abs(resolved.x - mpp) < 1e-4 && abs(resolved.y - mpp) < 1e-4)
            #expect(resolved.source == .tiffResolution(unit: unit))
        } else {
            let error = slideError { try ResolutionResolver().resolve(slide) }
            guard case .noResolution(let errorPath, let tried)? = error else {
                Issue.record("expected noResolution, got \(String(describing: error))")
                return
            }
            #expect(errorPath == path)
            #expect(tried.last?.contains(tagCase.file == "res-none.tiff" ? "none (no physical unit)" : "72 dpi placeholder") == true)
        }
    }

    // MARK: - Property tables (pure)

    @Test("unit spellings are normalised (R4)")
    func unitSpellings() {
        let table: [(String, ResolutionUnit?)] = [
            ("inch", .inch), ("INCH", .inch), ("in", .inch), ("2", .inch),
            ("centimeter", .centimeter), ("centimetre", .centimeter), ("cm", .centimeter), ("CENTIMETER", .centimeter), ("3", .centimeter),
            ("millimeter", .millimeter), ("mm", .millimeter),
            ("micrometer", .micrometer), ("micron", .micrometer), ("um", .micrometer), ("µm", .micrometer), ("μm", .micrometer),
            ("none", ResolutionUnit.none), ("1", ResolutionUnit.none), ("furlong", nil), ("", nil),
        ]
        for (spelling, unit) in table { #expect(ResolutionUnit(spelling: spelling) == unit, "\(spelling)") }
        #expect(ResolutionUnit.centimeter.micrometersPerPixel(pixelsPerUnit: 40_000) == 0.25)
        #expect(ResolutionUnit.inch.micrometersPerPixel(pixelsPerUnit: 101_600) == 0.25)
        #expect(ResolutionUnit.millimeter.micrometersPerPixel(pixelsPerUnit: 4_000) == 0.25)
        #expect(ResolutionUnit.micrometer.micrometersPerPixel(pixelsPerUnit: 4) == 0.25)
        #expect(ResolutionUnit.none.micrometersPerPixel(pixelsPerUnit: 4) == nil)
    }

    @Test("any scanner resolution converts, not just one magic value (R5)")
    func anyResolution() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let mpp = Double.random(in: 0.1...2.0, using: &generator)
            for (unit, perUnit) in [("centimeter", 10_000.0), ("inch", 25_400.0), ("millimeter", 1_000.0)] {
                let properties = ["tiff.XResolution": String(perUnit / mpp), "tiff.YResolution": String(perUnit / mpp),
                                  "tiff.ResolutionUnit": unit]
                let resolved = try ResolutionResolver().resolve(path: "r5.tiff", properties: properties)
                #expect(abs(resolved.x - mpp) < 1e-4 && abs(resolved.y - mpp) < 1e-4)
            }
        }
    }

    @Test("sources in order; implausible vendor values fall through with a warning")
    func precedence() throws {
        let all = ["aperio.MPP": "0.5", "openslide.mpp-x": "0.6", "openslide.mpp-y": "0.6",
                   "tiff.XResolution": "10000", "tiff.ResolutionUnit": "centimeter"]
        let resolver = ResolutionResolver()
        #expect(try resolver.resolve(path: "a.svs", properties: all).source == .vendorProperty(key: "aperio.MPP"))
        var noVendor = all
        noVendor["aperio.MPP"] = nil
        #expect(try resolver.resolve(path: "a.svs", properties: noVendor).source == .openSlideProperties)
        #expect(try resolver.resolve(path: "a.svs", properties: noVendor).x == 0.6)
        var tagsOnly = noVendor
        tagsOnly["openslide.mpp-x"] = nil
        tagsOnly["openslide.mpp-y"] = nil
        let fromTags = try resolver.resolve(path: "a.tiff", properties: tagsOnly)
        #expect(fromTags.x == 1.0 && fromTags.source == .tiffResolution(unit: .centimeter))
        #expect(fromTags.warnings.contains { $0.contains("YResolution absent") })

        var bogusVendor = all
        bogusVendor["aperio.MPP"] = "0"
        let fallback = try resolver.resolve(path: "a.svs", properties: bogusVendor)
        #expect(fallback.source == .openSlideProperties && fallback.warnings.contains { $0.contains("aperio.MPP = '0' ignored") })
    }

    @Test("other vendors' keys: MIRAX, Philips (mm, row col), Ventana")
    func vendorKeys() throws {
        let resolver = ResolutionResolver()
        let mirax = try resolver.resolve(path: "a.mrxs", properties: [
            "mirax.LAYER_0_LEVEL_0_SECTION.MICROMETER_PER_PIXEL_X": "0.243", "mirax.LAYER_0_LEVEL_0_SECTION.MICROMETER_PER_PIXEL_Y": "0.244"])
        #expect(mirax.x == 0.243 && mirax.y == 0.244)
        let philips = try resolver.resolve(path: "a.tiff", properties: ["philips.DICOM_PIXEL_SPACING": "\"0.000250\" \"0.000227\""])
        #expect(abs(philips.x - 0.227) < 1e-9 && abs(philips.y - 0.25) < 1e-9)
        let ventana = try resolver.resolve(path: "a.bif", properties: ["ventana.ScanRes": "0.465"])
        #expect(ventana.x == 0.465 && ventana.source == .vendorProperty(key: "ventana.ScanRes"))
    }

    @Test("a missing TIFF unit means inch (the TIFF default), with a warning; 96 dpi is a placeholder too")
    func tiffDefaults() throws {
        let noUnit = try ResolutionResolver().resolve(path: "a.tif", properties: ["tiff.XResolution": "101600", "tiff.YResolution": "101600"])
        #expect(noUnit.x == 0.25 && noUnit.warnings.contains { $0.contains("TIFF default, inch") })
        let error = slideError {
            try ResolutionResolver().resolve(path: "a.tif", properties: ["tiff.XResolution": "96", "tiff.ResolutionUnit": "inch"])
        }
        guard case .noResolution(_, let tried)? = error else {
            Issue.record("96 dpi must not resolve")
            return
        }
        #expect(tried.last?.contains("96 dpi placeholder") == true)
    }

    @Test("an explicit override wins over metadata and says so when they disagree")
    func overrideWins() throws {
        let properties = ["aperio.MPP": "0.4990"]
        let run = try ResolutionResolver(runOverride: 0.25).resolve(path: "/data/x.svs", properties: properties)
        #expect(run.x == 0.25 && run.source == .runOverride)
        #expect(run.warnings.contains { $0.contains("replaces aperio.MPP 0.499") })
        let agreeing = try ResolutionResolver(runOverride: 0.4991).resolve(path: "/data/x.svs", properties: properties)
        #expect(agreeing.warnings.isEmpty)

        let table = try MPPOverrideTable(csv: "slide,mpp\nx.svs,0.3\n", file: "/cfg/overrides.csv")
        let slide = try ResolutionResolver(slideOverrides: table, runOverride: 0.25).resolve(path: "/data/x.svs", properties: properties)
        #expect(slide.x == 0.3 && slide.source == .slideOverride(file: "/cfg/overrides.csv", line: 2), "per-slide beats per-run")
        let other = try ResolutionResolver(slideOverrides: table).resolve(path: "/data/y.svs", properties: properties)
        #expect(other.source == .vendorProperty(key: "aperio.MPP"), "slides not in the table keep their metadata")

        #expect(slideError { try ResolutionResolver(runOverride: -1).resolve(path: "a.svs", properties: [:]) } != nil)
    }

    // MARK: - Override CSV

    @Test("override CSV: header, comments, blank lines, CRLF, file-name and path keys")
    func csvParsing() throws {
        let text = "\u{FEFF}# overrides\r\nslide,mpp\r\n\r\n tcga-cr-7395-01a-01-ts1.svs , 0.2527 \r\ncohort/a.svs,0.5\n/abs/b.tiff,0.25\n"
        let table = try MPPOverrideTable(csv: text, file: "/cfg/mpp.csv")
        #expect(table.entries.map(\.slide) == ["tcga-cr-7395-01a-01-ts1.svs", "cohort/a.svs", "/abs/b.tiff"])
        #expect(table.entries.map(\.line) == [4, 5, 6])
        #expect(table.entry(forSlide: SlidePaths.tcga)?.mpp == 0.2527, "a file-name key matches anywhere")
        #expect(table.entry(forSlide: "/cfg/cohort/a.svs")?.mpp == 0.5, "a relative path key is relative to the CSV")
        #expect(table.entry(forSlide: "/elsewhere/a.svs") == nil, "a path key matches only that path")
        #expect(table.entry(forSlide: "/abs/./b.tiff")?.mpp == 0.25)
        #expect(table.entry(forSlide: "/abs/c.tiff") == nil)
        // A path key wins over a name key.
        let both = try MPPOverrideTable(csv: "a.svs,0.3\n/x/a.svs,0.4\n", file: "m.csv")
        #expect(both.entry(forSlide: "/x/a.svs")?.mpp == 0.4 && both.entry(forSlide: "/y/a.svs")?.mpp == 0.3)
    }

    @Test("override CSV errors name the file and line", arguments: [
        ("slide,mpp\na.svs\n", 2, "expected 2 fields"),
        ("a.svs,0.25,extra\n", 1, "found 3"),
        ("a.svs,abc\n", 1, "not a number"),
        ("a.svs,-0.25\n", 1, "outside"),
        ("a.svs,25000\n", 1, "outside"),
        ("a.svs,nan\n", 1, "not a number"),
        (",0.25\n", 1, "empty slide name"),
        ("\"a,b.svs\",0.25\n", 1, "quoted fields"),
        ("a.svs,0.25\n# again\na.svs,0.3\n", 3, "listed twice (first on line 1)"),
    ])
    func csvErrors(_ text: String, _ line: Int, _ message: String) {
        let error = slideError { try MPPOverrideTable(csv: text, file: "mpp.csv") }
        guard case .invalidMPPOverrides("mpp.csv", let errorLine, let detail)? = error else {
            Issue.record("expected invalidMPPOverrides, got \(String(describing: error))")
            return
        }
        #expect(errorLine == line)
        #expect(detail.contains(message), "\(detail)")
        #expect(error?.description.hasPrefix("mpp.csv:\(line): ") == true)
    }

    @Test("an override file that does not exist is an error naming it")
    func csvMissingFile() {
        let error = slideError { try MPPOverrideTable(contentsOf: "/nonexistent/mpp.csv") }
        #expect(error == .invalidMPPOverrides(file: "/nonexistent/mpp.csv", line: 0, detail: "cannot read the mpp override file"))
    }

    @Test("a CSV override read from a file resolves the TCGA slide")
    func csvFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("slideio-mpp-\(getpid()).csv")
        try "slide,mpp\ntcga-cr-7395-01a-01-ts1.svs,0.2527\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let resolver = ResolutionResolver(slideOverrides: try MPPOverrideTable(contentsOf: url.path))
        let resolved = try resolver.resolve(try Slide(path: SlidePaths.tcga))
        #expect(resolved.x == 0.2527 && resolved.source == .slideOverride(file: url.path, line: 2))
    }
}
