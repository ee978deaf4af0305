import ArgumentParser
import CUDA
import Foundation

/// `distill cuda …`: checks of the CUDA backend (docs/cuda.md).
struct CUDACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cuda", abstract: "Check the CUDA backend: compile its kernels (no GPU needed), compare it with the CPU.",
        subcommands: [CUDACompile.self, CUDAParityCommand.self])
}

/// `distill cuda compile`: every kernel source through NVRTC, no GPU or driver needed.
struct CUDACompile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Compile every CUDA kernel source with NVRTC for an architecture (needs libnvrtc, not a GPU).",
        discussion: """
            Prints one row per kernel file: ok, CUBIN (or PTX) bytes, seconds. Exit 1 when a file fails, naming it with \
            NVRTC's log; exit 1 when NVRTC cannot be loaded, listing the files tried. \
            NVRTC is looked for in --nvrtc (a file or folder), $DISTILL_NVRTC, then libnvrtc.so.13 / .so.12 through the \
            dynamic linker, $CUDA_HOME/lib64 and /usr/local/cuda/lib64.
            """)

    @Option(help: "Target architecture: sm_XY (CUBIN) or compute_XY (PTX).")
    var arch = "sm_90"

    @Option(help: "The NVRTC library (libnvrtc.so.13) or its folder.")
    var nvrtc: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(name: .customLong("save"), help: ArgumentHelp(
        "Also write each file's full source (prelude included) and its CUBIN (FILE.cubin) or PTX (FILE.ptx) into this folder, for cuobjdump -res-usage / nvdisasm.",
        valueName: "dir"))
    var saveDirectory: String?

    func validate() throws {
        guard arch.hasPrefix("sm_") || arch.hasPrefix("compute_"), arch.drop(while: { $0 != "_" }).dropFirst().allSatisfy(\.isNumber),
              arch.last?.isNumber == true else {
            throw ValidationError("--arch must be sm_XY or compute_XY, got '\(arch)'")
        }
    }

    func run() throws {
        let library: NVRTC
        do {
            library = try NVRTC.load(candidates: NVRTC.candidates(explicitPath: nvrtc))
        } catch {
            Console.error("error: \(error)")
            throw ExitCode(1)
        }
        let version = (try? library.version()).map { "\($0.major).\($0.minor)" } ?? "?"
        let reports = KernelCompiler(nvrtc: library).compileAll(arch: arch)
        if json {
            struct Output: Encodable {
                let nvrtc: String
                let version: String
                let arch: String
                let files: [KernelCompiler.Report]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            Console.out(String(decoding: try encoder.encode(Output(nvrtc: library.path, version: version, arch: arch, files: reports)),
                               as: UTF8.self))
        } else {
            Console.out("NVRTC \(version) (\(library.path)), \(arch)")
            let width = max(18, reports.map(\.file.count).max() ?? 0)
            Console.out("  " + "file".padded(width) + "  ok    bytes  format  seconds  kernels")
            for report in reports {
                Console.out("  " + report.file.padded(width) + "  " + (report.ok ? "ok  " : "FAIL") + String(report.bytes).leftPadded(9)
                    + "  " + report.format.padded(6) + String(format: "%9.2f", report.seconds) + "  " + report.kernels.joined(separator: ", "))
            }
        }
        if let failed = reports.first(where: { !$0.ok }) {
            Console.error("error: \(failed.error ?? failed.file)")
            throw ExitCode(1)
        }
        if let saveDirectory { try save(into: saveDirectory, library: library) }
    }

    /// Writes every source and its compiled image into `directory` (created if missing).
    private func save(into directory: String, library: NVRTC) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let compiler = KernelCompiler(nvrtc: library)
        for source in CUDAKernelSource.all {
            let compiled = try compiler.compiled(source, arch: arch)
            let base = URL(fileURLWithPath: directory).appendingPathComponent(source.file)
            try Data(source.fullText.utf8).write(to: base, options: .atomic)
            try Data(compiled.image).write(to: base.appendingPathExtension(compiled.isPTX ? "ptx" : "cubin"), options: .atomic)
        }
        Console.out("sources and images written to \(directory)")
    }
}

/// `distill cuda parity`: CUDA against the CPU backend on the GPU (docs/cuda.md).
struct CUDAParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract: "Compare the CUDA forward (tiny models, a random ViT-B/14) and the training kernels with the CPU backend and timm's fixtures.",
        discussion: """
            Prints one row per comparison: relative error max|a−b|/max|b| against its tolerance (1e-2 for bf16 results, \
            1e-4 for f32 kernel results, 1e-6 where the training kernels should carry the CPU's bits), NaN count \
            (device buffers are poisoned with NaN first, so an unwritten element shows), pass/fail. Runs from the \
            repository root (reads Tests/Fixtures/vit and configs/models). Exit 1 on any failure, or when the device \
            cannot be opened (the message names the library or call).
            """)

    @Option(help: "The repository root holding Tests/Fixtures/vit and configs/models.")
    var root = "."

    @Option(help: "Images of the ViT-B/14 case.")
    var batch = 3

    @Option(help: "What to compare: forward (the ViT forward, part 1), kernels (the training kernels against their CPU references, part 2), train (one whole training step of the tiny configuration against the CPU trainer, then a loss curve) or all.")
    var part: Part = .all

    enum Part: String, ExpressibleByArgument, CaseIterable {
        case forward, kernels, train, all
    }

    @Option(help: "Steps of the training loss curve (part train), CPU and device side by side (about 30 s a step under the CPU emulator; a few hundred on a GPU).")
    var steps = 20

    @Option(help: "CUDA device ordinal.")
    var ordinal = 0

    @Option(help: "The NVRTC library (libnvrtc.so.13) or its folder.")
    var nvrtc: String?

    @Flag(help: "Print the rows as JSON.")
    var json = false

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
    }

    func run() throws {
        let backend: CUDABackend
        var rows: [CUDAParity.Row] = []
        var curve: [CUDATrainingParity.CurvePoint] = []
        do {
            backend = try CUDABackend(ordinal: ordinal, nvrtcPath: nvrtc)
            if part == .forward || part == .all { rows += try CUDAParity.run(backend: backend, paths: .init(root: root), batch: batch) }
            if part == .kernels || part == .all { rows += try CUDAKernelParity.run(backend: backend) }
            if part == .train || part == .all {
                rows += try CUDATrainingParity.step(backend: backend, root: root)
                rows.append(try CUDATrainingParity.graphs(backend: backend, root: root))
                rows.append(try CUDATrainingParity.pipeline(backend: backend, teacherBackend: CUDABackend(ordinal: ordinal, nvrtcPath: nvrtc),
                                                            root: root))
                let result = try CUDATrainingParity.curve(backend: backend, root: root, steps: steps)
                curve = result.points
                rows.append(result.row)
            }
        } catch {
            Console.error("error: device cuda: \(error)")
            throw ExitCode(1)
        }
        if json {
            struct Output: Encodable {
                let rows: [CUDAParity.Row]
                let curve: [CUDATrainingParity.CurvePoint]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            if curve.isEmpty {
                Console.out(String(decoding: try encoder.encode(rows), as: UTF8.self))
            } else {
                Console.out(String(decoding: try encoder.encode(Output(rows: rows, curve: curve)), as: UTF8.self))
            }
        } else {
            let device = backend.properties
            Console.out("parity: CUDA (\(device.name), \(device.arch)) vs reference; tolerance per row (\(CUDAParity.tolerance) for the forward)")
            let widths = (model: max(18, rows.map(\.model.count).max() ?? 0), input: max(28, rows.map(\.input.count).max() ?? 0),
                          output: max(18, rows.map(\.output.count).max() ?? 0))
            Console.out("  " + "model".padded(widths.model) + "  " + "input".padded(widths.input) + "  " + "output".padded(widths.output)
                + "  ref    relative error  tolerance  NaN  result")
            for row in rows {
                Console.out("  " + row.model.padded(widths.model) + "  " + row.input.padded(widths.input) + "  "
                    + row.output.padded(widths.output) + "  " + row.reference.padded(5) + String(format: "  %14.3e  %9.0e", row.relativeError, row.tolerance)
                    + String(row.nanCount).leftPadded(5) + "  " + (row.passed ? "pass" : "FAIL"))
            }
            if !curve.isEmpty {
                Console.out("training loss curve (total loss; tiny configuration, 4 batches in turn):")
                Console.out("   step           cpu          cuda   relative gap")
                let every = max(1, curve.count / 20)
                for point in curve where point.step % every == 0 || point.step == curve.count - 1 {
                    Console.out(String(format: "  %5d  %12.6f  %12.6f  %13.3e", point.step, point.cpu, point.cuda, point.relativeGap))
                }
            }
        }
        let failed = rows.filter { !$0.passed }.count
        let summary = "\(rows.count - failed)/\(rows.count) passed"
        if json { Console.error(summary) } else { Console.out(summary) }
        if failed > 0 { throw ExitCode(1) }
    }
}

fileprivate extension String {
    /// Left-aligned in `width` columns.
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    /// Right-aligned in `width` columns.
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
