import Distillery
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
import TestSupport
#endif

/// A value that changes over time (text read from a pipe, a process's exit status) and that tasks can
/// wait on until it satisfies a condition. The timeout of ``wait(timeout:until:)`` is only a safety
/// net: waiters wake on the change itself.
final class Watched<Value: Sendable>: Sendable {
    private struct Waiter {
        let satisfied: @Sendable (Value) -> Bool
        let continuation: CheckedContinuation<Value?, Never>
    }

    private struct State {
        var value: Value
        var waiters: [Int: Waiter] = [:]
        var cancelled: Set<Int> = []
        var nextID = 0
    }

    private let state: Mutex<State>

    init(_ value: Value) { state = Mutex(State(value: value)) }

    var value: Value { state.withLock { $0.value } }

    /// Changes the value and wakes the waiters whose condition now holds.
    func update(_ change: (inout Value) -> Void) {
        let woken = state.withLock { state -> [(CheckedContinuation<Value?, Never>, Value)] in
            change(&state.value)
            let value = state.value
            let ready = state.waiters.filter { $0.value.satisfied(value) }
            for id in ready.keys { state.waiters[id] = nil }
            return ready.values.map { ($0.continuation, value) }
        }
        for (continuation, value) in woken { continuation.resume(returning: value) }
    }

    /// The value once `satisfied` holds for it, or nil after `timeout`.
    func wait(timeout: Duration, until satisfied: @escaping @Sendable (Value) -> Bool) async -> Value? {
        await withTaskGroup(of: Value?.self) { group in
            group.addTask { await self.wait(until: satisfied) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Waits until `satisfied` holds; returns nil when the task is cancelled.
    private func wait(until satisfied: @escaping @Sendable (Value) -> Bool) async -> Value? {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                let ready = state.withLock { state -> Value?? in
                    if satisfied(state.value) { return .some(state.value) }
                    if state.cancelled.remove(id) != nil { return .some(nil) }
                    state.waiters[id] = Waiter(satisfied: satisfied, continuation: continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                guard let waiter = state.waiters.removeValue(forKey: id) else {
                    state.cancelled.insert(id)
                    return Optional<Waiter>.none
                }
                return waiter
            }
            waiter?.continuation.resume(returning: nil)
        }
    }
}

/// What has been read from one pipe so far.
struct PipeText: Sendable {
    var text = ""
    /// The writer closed its end (end of file).
    var ended = false
    var lines: [Substring] { text.split(separator: "\n", omittingEmptySubsequences: false) }
}

/// A child process with its standard output and error read as they arrive.
final class Subprocess: Sendable {
    let process: Process
    let stdout = Watched(PipeText())
    let stderr = Watched(PipeText())
    /// The exit status once the process has exited (128 + N when killed by signal N).
    let exitStatus = Watched<Int32?>(nil)

    /// Starts `executable` with `arguments`; standard input is /dev/null.
    init(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let exitStatus = self.exitStatus
        process.terminationHandler = { process in
            let status = process.terminationReason == .uncaughtSignal
                ? 128 + process.terminationStatus : process.terminationStatus
            exitStatus.update { $0 = status }
        }
        self.process = process
        try process.run()
        Self.read(out.fileHandleForReading, into: stdout)
        Self.read(err.fileHandleForReading, into: stderr)
    }

    /// Reads `handle` on its own thread until end of file, publishing each chunk as it arrives
    /// (`read(2)`, not `FileHandle.read(upToCount:)`, which waits for the whole count).
    private static func read(_ handle: FileHandle, into text: Watched<PipeText>) {
        let thread = Thread {
            let descriptor = handle.fileDescriptor
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                bytes += buffer[..<count]
                let decoded = String(decoding: bytes, as: UTF8.self)
                text.update { $0.text = decoded }
            }
            try? handle.close()
            text.update { $0.ended = true }
        }
        thread.start()
    }

    var pid: Int32 { process.processIdentifier }

    /// Sends a signal (SIGINT, SIGTERM…).
    func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// The first standard-error line that satisfies `matches`, or nil when the process closes standard
    /// error first or `timeout` passes.
    func stderrLine(timeout: Duration = .seconds(20), where matches: @escaping @Sendable (Substring) -> Bool) async
        -> Substring?
    {
        let text = await stderr.wait(timeout: timeout) { text in
            text.ended || text.lines.dropLast().contains(where: matches)
        }
        return text?.lines.dropLast(text?.ended == true ? 0 : 1).first(where: matches)
    }

    /// Waits for the exit and for both pipes to end; returns the exit status, or nil after `timeout`.
    func finish(timeout: Duration = .seconds(20)) async -> Int32? {
        let start = ContinuousClock.now
        guard let status = await exitStatus.wait(timeout: timeout, until: { $0 != nil }) ?? nil else { return nil }
        let left = timeout - (ContinuousClock.now - start)
        _ = await stdout.wait(timeout: left) { $0.ended }
        _ = await stderr.wait(timeout: left) { $0.ended }
        return status
    }

    /// Kills the process if it is still running (cleanup after a failed expectation).
    func killIfRunning() {
        if process.isRunning { kill(pid, SIGKILL) }
    }
}

/// The result of a process run to its end.
struct Completed: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a process to its end; records an issue and kills it if it runs longer than `timeout`.
func runToEnd(_ executable: URL, _ arguments: [String], timeout: Duration = .seconds(30),
              sourceLocation: SourceLocation = #_sourceLocation) async throws -> Completed {
    let child = try Subprocess(executable, arguments)
    defer { child.killIfRunning() }
    guard let status = await child.finish(timeout: timeout) else {
        Issue.record("\(executable.lastPathComponent) \(arguments.joined(separator: " ")) did not exit within \(timeout); stderr:\n\(child.stderr.value.text)",
                     sourceLocation: sourceLocation)
        return Completed(status: -1, stdout: child.stdout.value.text, stderr: child.stderr.value.text)
    }
    return Completed(status: status, stdout: child.stdout.value.text, stderr: child.stderr.value.text)
}

/// The `distill` executable built with the tests (next to the test bundle), and the package paths.
enum Paths {
    static let distill: URL = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent(),
            Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
        ].map { $0.appendingPathComponent("distill") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }()

    /// Records an issue, naming where it looked, when the `distill` binary is missing.
    static func requireDistill(sourceLocation: SourceLocation = #_sourceLocation) throws -> URL {
        try #require(FileManager.default.isExecutableFile(atPath: distill.path),
                     "the distill executable is not next to the test bundle (\(distill.path)); build it with `swift build --product distill` using the same scratch path and configuration",
                     sourceLocation: sourceLocation)
        return distill
    }

    /// The package root.
    static let packageRoot = PackageRoot.url

    static let invalidGraphs = packageRoot.appendingPathComponent("Tests/Fixtures/graphs/invalid")
    static let examples = packageRoot.appendingPathComponent("graphs/examples")

    /// `*.yaml` files in a folder, sorted.
    static func yamlFiles(in folder: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { folder.appendingPathComponent($0) }
    }

    /// A new empty temporary folder.
    static func temporaryFolder(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("distill-tests-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Graph files written for a test, and the files `distill run` leaves in a run directory.
enum RunFiles {
    /// Writes `yaml` as `NAME.yaml` in a new temporary folder; returns the folder and the file path.
    static func graph(_ name: String, _ yaml: String) throws -> (folder: URL, path: String) {
        let folder = try Paths.temporaryFolder(name)
        let file = folder.appendingPathComponent(name + ".yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        return (folder, file.path)
    }

    /// `summary.json` as a dictionary.
    static func summary(_ runDirectory: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: runDirectory.appendingPathComponent("summary.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Every line of `metrics.jsonl`, decoded.
    static func snapshots(_ runDirectory: URL) throws -> [GraphSnapshot] {
        let text = try String(contentsOf: runDirectory.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(GraphSnapshot.self, from: Data($0.utf8)) }
    }
}

extension Subprocess {
    /// Waits for the first live stats table (`distill run --monitor` draws one per stats interval). It
    /// comes after the run has started and installed its SIGINT/SIGTERM handlers; the earlier
    /// `run … directory` and `listening on` lines come before (a signal sent then kills the process).
    func waitUntilRunning(timeout: Duration = .seconds(20)) async -> Bool {
        await stderrLine(timeout: timeout) { $0.hasPrefix("graph ") && $0.contains(" · running · ") } != nil
    }
}
