import Foundation

/// A benchmark's Python anchor (`tools/bench/*.py`), run as a child process that prints one JSON report on
/// standard output; `distill bench tiling | vit | augment` run theirs in the same command as the Swift side.
enum PythonReference {
    /// Runs `python arguments…` and decodes its standard output as `Report`.
    /// - Throws: `BenchmarkError` when the process cannot start, exits non-zero (with the end of its standard
    ///   error), or prints no decodable report (with the start of its output).
    static func report<Report: Decodable>(_ python: String, _ arguments: [String], as type: Report.Type) throws -> Report {
        let (status, output, errors) = try run(python, arguments)
        guard status == 0 else {
            throw BenchmarkError(message: "the Python reference failed (exit \(status)): \(errors.suffix(2000))")
        }
        do {
            return try JSONDecoder().decode(Report.self, from: Data(output.utf8))
        } catch {
            throw BenchmarkError(message: "the Python reference printed no report: \(error); output: \(output.prefix(500))")
        }
    }

    /// Whether `python -c "import <modules>"` succeeds (`modules`: a comma-separated list).
    static func hasModules(_ python: String, _ modules: String) -> Bool {
        (try? run(python, ["-c", "import " + modules]).status) == 0
    }

    /// Runs an executable (a bare name is looked up on PATH) and returns its exit status, stdout and stderr.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        // stderr goes to a file, so that a chatty child cannot block on a full pipe while we read stdout.
        let errorPath = NSTemporaryDirectory() + "/distill-bench-stderr-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        guard FileManager.default.createFile(atPath: errorPath, contents: nil),
              let errorFile = FileHandle(forWritingAtPath: errorPath) else {
            throw BenchmarkError(message: "cannot create \(errorPath)")
        }
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = errorFile
        try process.run()
        let outputData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try? errorFile.close()
        let errorData = FileManager.default.contents(atPath: errorPath) ?? Data()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self),
                String(decoding: errorData, as: UTF8.self))
    }

}
