import Foundation
import Testing
@testable import Compute

/// The OpenBLAS kernel re-selection follows its rules on whatever machine runs the tests: an explicit
/// `OPENBLAS_CORETYPE` is never overridden, and only the Prescott fallback is ever replaced, by a family the
/// CPU's flags support.
@Suite struct BLASCoreSelectionTests {
    @Test func selectionFollowsTheRules() {
        _ = CPUBackend(threads: 1)
        let selection = BLASCoreSelection.current
        #expect(CPUBackend.blasCore == selection.selected)
        let flags = BLASCoreSelection.cpuFlags()
        if let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
            #expect(selection.selected == selection.detected)
            #expect(selection.reason == "OPENBLAS_CORETYPE=\(forced) is set")
        } else if selection.selected != selection.detected {
            #expect(selection.detected.lowercased() == "prescott")
            if selection.selected == "SkylakeX" {
                #expect(flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl"]))
            } else {
                #expect(selection.selected == "Haswell" && flags.isSuperset(of: ["avx2", "fma"]))
            }
        }
        // The flags of a Linux x86-64 machine always include SSE2.
        #expect(flags.contains("sse2"))
    }
}
