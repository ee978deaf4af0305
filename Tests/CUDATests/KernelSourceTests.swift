import Foundation
import Testing
@testable import CUDA
import TestSupport

/// The kernel registry is complete: every kernel a source declares is defined in it, every `extern "C"` kernel a
/// source defines is declared, names are unique, and every kernel the forward launches exists in a source.
@Suite struct KernelSourceTests {
    static func definedKernels(_ code: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: #"extern "C" __global__ (?:__launch_bounds__\([^)]*\) )?void ([A-Za-z0-9_]+)\("#)
        return pattern.matches(in: code, range: NSRange(code.startIndex..., in: code)).map {
            String(code[Range($0.range(at: 1), in: code)!])
        }
    }

    @Test func everyDeclaredKernelIsDefinedAndNoOther() {
        for source in CUDAKernelSource.all {
            #expect(Self.definedKernels(source.code).sorted() == source.kernels.sorted(), "\(source.file)")
            #expect(source.file.hasSuffix(".cu"))
        }
        let names = CUDAKernelSource.all.flatMap(\.kernels)
        #expect(Set(names).count == names.count)
        #expect(Set(CUDAKernelSource.all.map(\.file)).count == CUDAKernelSource.all.count)
    }

    @Test func everyLaunchedKernelExistsInASource() throws {
        let folder = PackageRoot.url.appendingPathComponent("Sources/CUDA")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }
        // `backend.launch("name", …)` in the forward, `try launch("name", …)` in `CUDATrainingKernels`.
        let launch = try NSRegularExpression(pattern: #"[.\s]launch\(([^,]*),"#)
        let literal = try NSRegularExpression(pattern: #""([a-z0-9_]+)""#)
        var launched = Set<String>()
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for match in launch.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let head = String(text[Range(match.range(at: 1), in: text)!])
                for name in literal.matches(in: head, range: NSRange(head.startIndex..., in: head)) {
                    launched.insert(String(head[Range(name.range(at: 1), in: head)!]))
                }
            }
        }
        #expect(launched.count >= 40, "found \(launched.sorted())")
        for name in launched.sorted() {
            #expect(CUDAKernelSource.source(defining: name) != nil, "kernel \(name) is launched but no source defines it")
        }
        // Every kernel is used (no dead source): the forward's by `CUDAViTForward`, the training kernels by
        // `CUDATrainingKernels`.
        let unused = Set(CUDAKernelSource.all.flatMap(\.kernels)).subtracting(launched).subtracting(["convert_bf16_to_f32"])
        #expect(unused.isEmpty, "kernels never launched: \(unused.sorted())")
    }

    /// The training sources (part 2) are compiled by `distill cuda compile` and loaded by `CUDABackend` with the
    /// forward's; each is listed in docs/cuda.md's part 2 kernel table with its launch geometry.
    @Test func everyTrainingKernelIsDocumented() throws {
        #expect(CUDAKernelSource.all == CUDAKernelSource.forward + CUDAKernelSource.training)
        #expect(CUDAKernelSource.training.count == 8)
        let doc = try String(contentsOf: PackageRoot.url.appendingPathComponent("docs/cuda.md"), encoding: .utf8)
        let part2 = try #require(doc.range(of: "## Part 2"))
        let section = String(doc[part2.lowerBound...])
        for source in CUDAKernelSource.training {
            #expect(section.contains("`\(source.file)`"), "\(source.file) is not in docs/cuda.md part 2")
            for kernel in source.kernels {
                #expect(section.contains("`\(kernel)`"), "\(kernel) is not in docs/cuda.md part 2")
            }
        }
    }

    /// The optimiser and centre kernels promise the CPU's bits: every arithmetic step is an explicitly rounded
    /// intrinsic, so NVRTC (`--fmad=true` by default) cannot contract a multiply-add that the CPU rounds twice.
    @Test func optimizerArithmeticIsExplicitlyRounded() {
        let code = CUDAKernelSource.optimizer.code
        let adamw = String(code[code.range(of: "void adamw_step")!.lowerBound...])
        #expect(adamw.contains("__fadd_rn(m[i], __fmul_rn(lerp_weight, __fsub_rn(gradient, m[i])))"))
        #expect(adamw.contains("__fadd_rn(second, __fmul_rn(__fmul_rn(one_minus_beta2, gradient), gradient))"))
        #expect(adamw.contains("__fadd_rn(__fdiv_rn(__fsqrt_rn(second), correction), epsilon)"))
        #expect(code.contains("__fmaf_rn(student[i], alpha, __fmul_rn(ema[i], momentum))"))
        #expect(CUDAKernelSource.loss.code.contains("__fadd_rn(__fmul_rn(center[column], keep), __fmul_rn(batch_mean, add))"))
    }

    @Test func thePreludeRoundsToNearestEvenAndKeepsNaN() {
        // The device conversion is the same bit arithmetic as `DTypeConversion.bfloat16Bits` (tested in Compute).
        let prelude = CUDAKernelSource.prelude
        #expect(prelude.contains("bits += 0x7fffu + ((bits >> 16) & 1u);"))
        #expect(prelude.contains("if ((bits & 0x7fffffffu) > 0x7f800000u) return (bf16_t)((bits >> 16) | 0x0040u);"))
        #expect(prelude.contains("return __uint_as_float(((unsigned int)v) << 16);"))
        #expect(!prelude.contains("#include"))
        for source in CUDAKernelSource.all { #expect(!source.code.contains("#include"), "\(source.file)") }
        #expect(CUDAKernelSource.layerNorm.fullText.hasPrefix(prelude))
        #expect(CUDAKernelSource.layerNorm.fullText.contains("#line 1 \"layer_norm.cu\""))
    }
}
