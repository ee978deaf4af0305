import Evaluation
import Foundation
import ImageOps

/// The held-out tiles an evaluation embeds with each model it evaluates (the `evaluator` stage): decoded once,
/// kept in memory (a few hundred tiles at most), embedded again for every snapshot.
///
/// - **Probe tiles**: a folder of labelled PNG/JPEG tiles (or a tile shard dataset) with a labels CSV (`file`,
///   `label`, optional `split` column), for the linear probe and kNN (`ClassificationTask.heldOut`).
/// - **Robustness tiles**: the same tissue seen by several "scanners" (PLISM, evaluation-spec.md §1): a folder of
///   slide folders named `STAINING_SCANNER…`, each holding the same tile names (registered tiles); or a folder of
///   image files, each file one slide of one tile, labelled `STAINING_<file stem>` with `staining` given — the
///   layout of `../shared/data/paired/wsidicom-data-codec-variants`, where each codec plays a scanner.
///   Files that are not PNG/JPEG, or that the decoders reject (JPEG lossless, say), are listed in `skipped`
///   with the reason and left out.
public struct HeldOutSet: Sendable {
    /// One robustness slide: its label and its tiles, in tile-name order.
    public struct Slide: Sendable {
        /// The slide's name, staining and scanner (`STAINING_SCANNER…`).
        public let label: SlideLabel
        /// Its tiles (any size: the embedder fits them), sorted by tile name so rows line up across slides.
        public let tiles: [EmbeddingTile]
    }

    /// Tiles of the classification task, in reading order.
    public let probeTiles: [EmbeddingTile]
    /// Their labels, and the CSV's path for errors.
    public let labels: (table: CSVTable, path: String)?
    /// Robustness slides, in name order.
    public let robustnessSlides: [Slide]
    /// Files left out of the robustness slides, as `path: reason`.
    public let skipped: [String]

    /// Reads and decodes the held-out tiles.
    /// - Parameters:
    ///   - probeTiles: folder (or dataset) of probe tiles; nil: no probe.
    ///   - labels: the labels CSV; nil: `probeTiles/labels.csv`.
    ///   - robustnessTiles: the robustness folder; nil: no robustness.
    ///   - staining: the staining name of single-file slides.
    /// - Throws: `EmbeddingError` naming an unreadable probe tile or folder; `FeatureFileError` for the CSV;
    ///   `EvaluationError` for slide folders that are not `STAINING_SCANNER…`, slides whose tile names differ,
    ///   or fewer than 2 robustness slides.
    public static func load(probeTiles: String?, labels: String?, robustnessTiles: String?,
                            staining: String = "HE") throws -> HeldOutSet {
        var probe: [EmbeddingTile] = []
        var labelTable: (CSVTable, String)?
        if let probeTiles {
            probe = try readAll(TileInput.open(probeTiles))
            let path = labels ?? (probeTiles as NSString).appendingPathComponent("labels.csv")
            labelTable = (try CSVTable.read(path: path), path)
        }
        var slides: [Slide] = []
        var skipped: [String] = []
        if let robustnessTiles {
            let entries: [String]
            do {
                entries = try FileManager.default.contentsOfDirectory(atPath: robustnessTiles).filter { !$0.hasPrefix(".") }.sorted()
            } catch {
                throw EmbeddingError.badInput(path: robustnessTiles, reason: "cannot list the folder: \(error.localizedDescription)")
            }
            for entry in entries {
                let path = (robustnessTiles as NSString).appendingPathComponent(entry)
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                if isDirectory.boolValue {
                    let tiles = try readAll(TileInput.open(path)).sorted { $0.name < $1.name }
                    slides.append(Slide(label: try SlideLabel(name: entry), tiles: tiles))
                    continue
                }
                guard TileInput.imageExtensions.contains((entry as NSString).pathExtension.lowercased()) else {
                    skipped.append("\(path): not a .png/.jpg/.jpeg image")
                    continue
                }
                do {
                    let tiles = try readAll(TileInput.open(path))
                    let stem = (entry as NSString).deletingPathExtension.replacingOccurrences(of: "_", with: "-")
                    slides.append(Slide(label: try SlideLabel(name: "\(staining)_\(stem)"), tiles: tiles))
                } catch let error as EmbeddingError {
                    skipped.append("\(path): \(error)")
                }
            }
            guard slides.count >= 2 else {
                throw EvaluationError("\(robustnessTiles): \(slides.count) readable slide(s); robustness needs at least 2"
                    + (skipped.isEmpty ? "" : " (skipped: \(skipped.joined(separator: "; ")))"))
            }
            let names = slides[0].tiles.map(\.name)
            for slide in slides.dropFirst() where slide.tiles.count != names.count
                || (slide.tiles.count > 1 && slide.tiles.map(\.name) != names) {
                throw EvaluationError("\(robustnessTiles): slide \(slide.label.name) has tiles \(slide.tiles.map(\.name).prefix(3))… "
                    + "but \(slides[0].label.name) has \(names.prefix(3))…; robustness slides must hold the same tiles")
            }
        }
        return HeldOutSet(probeTiles: probe, labels: labelTable, robustnessSlides: slides, skipped: skipped)
    }

    /// Embeds the held-out tiles with `embedder` and evaluates them.
    /// - Parameters:
    ///   - probe: linear probe settings (nil: none); `knn`: kNN settings (nil: none); `robustness`: its settings.
    /// - Returns: the report: robustness when there are slides, probe and kNN when there are probe tiles.
    /// - Throws: `EmbeddingError` from the embedder, `FeatureFileError` / `EvaluationError` from the task and metrics.
    public func evaluate(embedder: TileEmbedder, probe: LinearProbe?, knn: KNNClassifier?,
                         robustness: RobustnessBenchmark = RobustnessBenchmark()) throws -> EvaluationReport {
        var request = EmbeddingEvaluator.Request()
        request.linearProbe = probe
        request.knn = knn
        request.robustness = robustness
        if let labels, !probeTiles.isEmpty {
            let features = try embedder.embed(probeTiles, name: "held-out probe tiles")
            request.classification = try ClassificationTask.heldOut(features: features, labels: labels.table,
                                                                    labelsPath: labels.path)
        }
        if !robustnessSlides.isEmpty {
            request.robustnessSlides = try robustnessSlides.map { slide in
                RobustnessSlide(label: slide.label, features: try embedder.embed(slide.tiles, name: slide.label.name).features)
            }
        }
        return try EmbeddingEvaluator().evaluate(request)
    }

    private static func readAll(_ input: TileInput) throws(EmbeddingError) -> [EmbeddingTile] {
        var iterator = input.makeIterator()
        var tiles: [EmbeddingTile] = []
        while let tile = try iterator.next() { tiles.append(tile) }
        return tiles
    }
}
