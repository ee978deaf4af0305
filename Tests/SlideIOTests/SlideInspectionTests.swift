import Foundation
import Testing
@testable import SlideIO

/// The report behind `distill inspect`: text lines and snake_case JSON.
@Suite("Slide inspection")
struct SlideInspectionTests {
    private func json(_ inspection: SlideInspection) throws -> [String: Any] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = try encoder.encode(inspection)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("CMU-1-Small-Region: vendor, levels, mpp with source, bounds, background, associated images")
    func cmu() throws {
        let inspection = SlideInspection(slide: try Slide(path: SlidePaths.cmu))
        let text = inspection.lines.joined(separator: "\n")
        #expect(text.contains("vendor: aperio (OpenSlide 3.4.1)"))
        #expect(text.contains("level 0: 2220 × 2967 px, downsample 1, tiles 240 × 240"))
        #expect(text.contains("mpp: 0.499 × 0.499 µm/px (source: aperio.MPP)"))
        #expect(text.contains("bounds: x 0, y 0, 2220 × 2967 px"))
        #expect(text.contains("background: #FFFFFF"))
        #expect(text.contains("associated images: label 387 × 463, macro 1280 × 431, thumbnail 574 × 768"))
        #expect(text.contains("pixels: a probe read at the centre of every level decodes"))

        let object = try json(inspection)
        #expect(object["vendor"] as? String == "aperio")
        #expect(object["width"] as? Int == 2220 && object["height"] as? Int == 2967)
        let mpp = try #require(object["mpp"] as? [String: Any])
        #expect(mpp["x"] as? Double == 0.499 && mpp["source"] as? String == "aperio.MPP" && mpp["source_kind"] as? String == "vendor")
        #expect(object["mpp_error"] is NSNull, "absent values are explicit nulls")
        #expect(object["background_color"] as? String == "#FFFFFF")
        #expect(object["pixels_readable"] as? Bool == true)
        let images = try #require(object["associated_images"] as? [[String: Any]])
        #expect(images.map { $0["name"] as? String } == ["label", "macro", "thumbnail"])
        let levels = try #require(object["levels"] as? [[String: Any]])
        #expect(levels.first?["tile_width"] as? Int == 240)
    }

    @Test("tcga: no mpp is reported with the resolver's error, and is not fatal")
    func noMPP() throws {
        let inspection = SlideInspection(slide: try Slide(path: SlidePaths.tcga))
        #expect(inspection.mpp == nil)
        #expect(inspection.mppError?.contains("no resolution") == true)
        #expect(inspection.lines.contains { $0.hasPrefix("mpp: none — ") && $0.contains("--mpp-override") })
        let object = try json(inspection)
        #expect(object["mpp"] is NSNull)
        let levels = try #require(object["levels"] as? [[String: Any]])
        let downsamples = levels.compactMap { $0["downsample"] as? Double }
        #expect(downsamples.count == 2 && downsamples[0] == 1 && abs(downsamples[1] - 2.0005055500659967) < 1e-12)
        // With an override it resolves.
        let resolved = SlideInspection(slide: try Slide(path: SlidePaths.tcga), resolver: ResolutionResolver(runOverride: 0.25))
        #expect(resolved.mpp?.x == 0.25 && resolved.mpp?.sourceKind == "run-override")
    }

    @Test("osp-unreadable: opens, and the probe reports the undecodable pixels (R7, C3)")
    func unreadable() throws {
        let inspection = SlideInspection(slide: try Slide(path: SlidePaths.unreadable))
        #expect(inspection.mpp?.x == 0.499)
        #expect(inspection.pixelsReadable == false)
        #expect(inspection.readError?.contains("Bogus marker length") == true)
        #expect(inspection.lines.last?.hasPrefix("pixels: UNREADABLE") == true)
        let unprobed = SlideInspection(slide: try Slide(path: SlidePaths.unreadable), probe: false)
        #expect(unprobed.pixelsReadable == nil && unprobed.readError == nil)
    }
}
