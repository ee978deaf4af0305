import Evaluation
import Foundation
import ImageOps
import TileShards

/// Where `distill embed` reads tiles: a tile shard dataset (a folder with `index.json`, made by `distill tile`),
/// a folder of `.png`/`.jpg`/`.jpeg` tiles, or one such image file.
///
/// Image folders are listed in sorted path order (byte order of the UTF-8 relative paths), hidden files
/// skipped, subfolders only with `recursive`; each tile's name is its path relative to the folder and it has no
/// coordinates (file names carry no documented position convention). Shard tiles keep their slide id,
/// level-0 position and mpp, and are named `SLIDE/X_Y`.
public struct TileInput: Sendable {
    /// What the input is.
    public enum Source: Sendable {
        /// A shard dataset.
        case shards(ShardDataset)
        /// Image files: the folder and the files' paths relative to it, in reading order.
        case images(directory: String, files: [String])
    }

    /// The path given.
    public let path: String
    /// What it holds.
    public let source: Source

    /// File extensions read as images (lower-cased).
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Opens `path`: a shard dataset folder, an image folder or an image file.
    /// - Parameter recursive: also read images in subfolders of an image folder.
    /// - Throws: `EmbeddingError.badInput` naming `path`: missing, not a dataset/folder/image, a dataset that
    ///   does not open (its `ShardError`), a folder without images.
    public static func open(_ path: String, recursive: Bool = false) throws(EmbeddingError) -> TileInput {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .badInput(path: path, reason: "no such file or folder")
        }
        if !isDirectory.boolValue {
            guard isImage(path) else {
                throw .badInput(path: path, reason: "not a .png/.jpg/.jpeg file, an image folder or a tile shard dataset")
            }
            let url = URL(fileURLWithPath: path)
            return TileInput(path: path, source: .images(directory: url.deletingLastPathComponent().path,
                                                         files: [url.lastPathComponent]))
        }
        if FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent(ShardFormat.indexFileName)) {
            do {
                return TileInput(path: path, source: .shards(try ShardDataset(directory: path)))
            } catch {
                throw .badInput(path: path, reason: "\(error)")
            }
        }
        let files = try listImages(in: path, recursive: recursive)
        guard !files.isEmpty else {
            throw .badInput(path: path, reason: "no .png, .jpg or .jpeg files\(recursive ? "" : " (subfolders are read with --recursive)")"
                + " and no \(ShardFormat.indexFileName) (not a tile shard dataset)")
        }
        return TileInput(path: path, source: .images(directory: path, files: files))
    }

    /// Number of tiles.
    public var count: Int {
        switch source {
        case .shards(let dataset): dataset.tileCount
        case .images(_, let files): files.count
        }
    }

    /// The name a feature file of these tiles gets (`features.attrs["name"]`): the slide id when every shard tile
    /// comes from one slide, else the folder's (or file's) name without extension.
    public var name: String {
        if case .shards(let dataset) = source {
            let slides = Set(dataset.index.shards.flatMap { $0.sources.map(\.id) })
            if slides.count == 1 { return slides.first! }
        }
        let last = URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent
        return Self.isImage(path) ? (last as NSString).deletingPathExtension : last
    }

    /// Reads the tiles in order.
    public func makeIterator() -> Iterator { Iterator(source: source) }

    /// Reads one tile after another (`next()` throws, so this is not a `Sequence`).
    public struct Iterator {
        private let source: Source
        private var position = 0
        private var shard = 0
        private var reader: ShardReader?
        private var tiles: TileIterator?

        init(source: Source) { self.source = source }

        /// A shard error's problem without the shard path and tile index the error's `tile` already names.
        static func problem(_ error: any Error) -> String {
            guard let error = error as? ShardError else { return "\(error)" }
            if case .tile(_, _, let problem) = error { return "\(problem)" }
            return error.detail
        }

        /// The next tile, or nil after the last.
        /// - Throws: `EmbeddingError.unreadableTile` naming the file (PNG/JPEG errors) or the shard and tile index
        ///   (`ShardError`).
        public mutating func next() throws(EmbeddingError) -> EmbeddingTile? {
            switch source {
            case .images(let directory, let files):
                guard position < files.count else { return nil }
                let file = files[position]
                position += 1
                return EmbeddingTile(image: try readImage((directory as NSString).appendingPathComponent(file), name: file),
                                     name: file)
            case .shards(let dataset):
                while true {
                    if tiles == nil {
                        guard shard < dataset.index.shards.count else { return nil }
                        do {
                            let opened = try dataset.openShard(shard)
                            reader = opened
                            tiles = opened.makeTileIterator()
                        } catch {
                            throw .unreadableTile(tile: dataset.path(ofShard: shard), reason: Self.problem(error))
                        }
                    }
                    let tile: Tile?
                    do {
                        tile = try tiles!.next()
                    } catch {
                        throw .unreadableTile(tile: "\(dataset.path(ofShard: shard)) #\(tiles!.index - 1)", reason: Self.problem(error))
                    }
                    guard let tile, let reader else {
                        tiles = nil
                        self.reader = nil
                        shard += 1
                        continue
                    }
                    let metadata = tile.metadata
                    let image = RGBImage(width: reader.geometry.width, height: reader.geometry.height, pixels: tile.pixels)
                    return EmbeddingTile(image: image, name: "\(metadata.slideID)/\(metadata.x)_\(metadata.y)",
                                         coordinate: TileCoordinate(x: metadata.x, y: metadata.y), mpp: metadata.mpp)
                }
            }
        }

        private func readImage(_ path: String, name: String) throws(EmbeddingError) -> RGBImage {
            let lower = path.lowercased()
            do {
                if lower.hasSuffix(".png") { return try PNGImage.read(path: path) }
                return try JPEGImage.read(path: path)
            } catch {
                throw .unreadableTile(tile: name, reason: "\(error)")
            }
        }
    }

    private static func isImage(_ path: String) -> Bool {
        imageExtensions.contains((path as NSString).pathExtension.lowercased())
    }

    /// Image files under `directory`, relative paths, sorted by their UTF-8 bytes.
    private static func listImages(in directory: String, recursive: Bool) throws(EmbeddingError) -> [String] {
        var found: [String] = []
        if recursive {
            guard let walker = FileManager.default.enumerator(atPath: directory) else {
                throw .badInput(path: directory, reason: "cannot list the folder")
            }
            while let relative = walker.nextObject() as? String {
                let components = relative.split(separator: "/")
                if components.contains(where: { $0.hasPrefix(".") }) { continue }
                var isDirectory: ObjCBool = false
                let full = (directory as NSString).appendingPathComponent(relative)
                if isImage(relative), FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                    found.append(relative)
                }
            }
        } else {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: directory)
            } catch {
                throw .badInput(path: directory, reason: "cannot list the folder: \(error.localizedDescription)")
            }
            for name in names where !name.hasPrefix(".") && isImage(name) {
                var isDirectory: ObjCBool = false
                let full = (directory as NSString).appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                    found.append(name)
                }
            }
        }
        return found.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
}
