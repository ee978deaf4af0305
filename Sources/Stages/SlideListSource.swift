import Dataflow
import Foundation
import SlideIO

/// `slide-list`: emits one ``SlideJob`` per slide found in `inputs`, in sorted path order — `epochs` times over
/// (epoch-major, each job carrying its epoch, so a training graph can make several passes over a small set).
///
/// A file input is taken as given (whatever its extension, so it gets its own error if it is not a slide).
/// A directory input is walked **recursively** (hidden entries skipped) for files with a slide extension
/// (`SlideFormats.slideExtensions`) or a format this OpenSlide cannot read but that users pass anyway
/// (`.dcm`, `.czi`, `.vsi`, `.isyntax`), so each gets its own clear error instead of being ignored.
/// Slide ids are file names; when two files share a name, their paths relative to the input instead.
/// With `skip_completed` (a dataset folder), slides listed complete in its `index.json` are not emitted (saves
/// re-reading them on resume). Off in `graphs/tile.yaml`: the shard writer already drops their tiles, and a
/// writer that finds a damaged shard on resume reopens its slides, which this list would have skipped.
public struct SlideListSource: Stage {
    public static let summary = "Lists slide files (files or directories, recursive, sorted) as slide jobs"
    public static let output = OutputPort<SlideJob>("out")
    public static var outputs: [PortSpec] { [output.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("inputs", .stringList, "slide files or directories (walked recursively)"),
        ParameterSpec("skip_completed", .string, default: .string(""), "dataset folder whose completed slides are skipped; empty = none"),
        ParameterSpec("epochs", .integer(1...1 << 20), default: .integer(1), "passes over the list (epochs 0 …)"),
    ]

    /// Extensions listed from directories besides `SlideFormats.slideExtensions`: formats this OpenSlide cannot
    /// read, listed so that each file gets its own error.
    public static let unsupportedExtensions: Set<String> = ["dcm", "czi", "vsi", "isyntax"]

    let inputs: [String]
    let skipCompleted: String
    let epochs: Int

    public init(parameters: StageParameters) throws {
        inputs = parameters.stringList("inputs")
        skipCompleted = parameters.string("skip_completed")
        epochs = parameters.integer("epochs")
        guard !inputs.isEmpty else { throw ParameterError(key: "inputs", "give at least one slide file or directory") }
    }

    /// Checks that every input exists, so a typo fails validation rather than the run.
    /// - Throws: ``ParameterError`` for `inputs`, naming the missing path.
    public func validate(replicas: Int) throws {
        for input in inputs where !FileManager.default.fileExists(atPath: input) {
            throw ParameterError(key: "inputs", "no such slide file or directory: \(input)")
        }
    }

    /// The jobs for `inputs`, sorted by path.
    /// - Throws: ``SlideListError`` when an input does not exist.
    public static func jobs(inputs: [String]) throws -> [SlideJob] {
        var found: [(path: String, relative: String)] = []
        let fm = FileManager.default
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: input, isDirectory: &isDirectory) else { throw SlideListError.notFound(input) }
            if !isDirectory.boolValue {
                found.append((input, (input as NSString).lastPathComponent))
                continue
            }
            let root = URL(fileURLWithPath: input)
            guard let walker = fm.enumerator(atPath: input) else { throw SlideListError.notFound(input) }
            var paths: [String] = []
            while let relative = walker.nextObject() as? String {
                let name = (relative as NSString).lastPathComponent
                if name.hasPrefix(".") { walker.skipDescendants(); continue }
                let ext = (name as NSString).pathExtension.lowercased()
                guard SlideFormats.slideExtensions.contains(ext) || unsupportedExtensions.contains(ext) else { continue }
                let full = root.appendingPathComponent(relative).path
                var dir: ObjCBool = false
                if fm.fileExists(atPath: full, isDirectory: &dir), !dir.boolValue { paths.append(relative) }
            }
            for relative in paths {
                found.append(((input as NSString).appendingPathComponent(relative), relative))
            }
        }
        found.sort { $0.path < $1.path }
        var seen = Set<String>()
        found.removeAll { !seen.insert($0.path).inserted }
        var nameCount: [String: Int] = [:]
        for item in found { nameCount[(item.path as NSString).lastPathComponent, default: 0] += 1 }
        return found.map { item in
            let name = (item.path as NSString).lastPathComponent
            return SlideJob(path: item.path, slideID: nameCount[name, default: 0] > 1 ? item.relative : name)
        }
    }

    public func run(_ context: StageContext) async throws {
        let out = try context.outbox(Self.output)
        var jobs = try Self.jobs(inputs: inputs)
        if !skipCompleted.isEmpty, let completed = Self.completedSources(dataset: skipCompleted) {
            let before = jobs.count
            jobs.removeAll { completed.contains($0.slideID) }
            if before != jobs.count {
                context.logger.info("\(before - jobs.count) of \(before) slides already complete in \(skipCompleted): skipped")
            }
        }
        context.logger.info("\(jobs.count) slides to read\(epochs > 1 ? ", \(epochs) epochs" : "")")
        for epoch in 0..<epochs {
            for job in jobs where !context.isDraining {
                try await out.send(SlideJob(path: job.path, slideID: job.slideID, mppOverride: job.mppOverride, epoch: epoch))
            }
        }
    }

    /// The completed sources listed in a dataset's `index.json`, or nil when there is none.
    static func completedSources(dataset: String) -> Set<String>? {
        let path = (dataset as NSString).appendingPathComponent("index.json")
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let list = object["completed_sources"] as? [String] else { return nil }
        return Set(list)
    }
}

/// An input of `slide-list` that does not exist.
public enum SlideListError: Error, CustomStringConvertible {
    case notFound(String)
    public var description: String {
        switch self {
        case .notFound(let path): return "slide input '\(path)' does not exist"
        }
    }
}
