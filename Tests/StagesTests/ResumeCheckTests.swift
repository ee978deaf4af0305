import Dataflow
import Foundation
@testable import Stages
import Testing
import TestSupport

/// What `distill run --resume` refuses to change (`ResumeCheck`), on the quickstart graph with the built-in stages.
@Suite struct ResumeCheckTests {
    static let quickstart = PackageRoot.path("graphs/quickstart.yaml")

    /// The quickstart graph with `overrides`, its stage `trainer` renamed to `renamed` when given; stage files are
    /// not checked (a resumed run's inputs may have moved).
    static func graph(_ overrides: [String] = [], renamed: String? = nil, slides: String = "../shared/data/slides") throws -> GraphSpec {
        var loader = GraphLoader(registry: .builtIn, environment: ["SLIDES": slides])
        loader.validatesStages = false
        var text = try String(contentsOfFile: quickstart, encoding: .utf8)
        if let renamed {
            text = text.replacingOccurrences(of: "name: trainer", with: "name: \(renamed)")
                .replacingOccurrences(of: "to: trainer", with: "to: \(renamed)").replacingOccurrences(of: "from: trainer", with: "from: \(renamed)")
        }
        return try loader.load(yaml: text, path: quickstart, overrides: overrides)
    }

    @Test func theSameGraphOrOtherFreeSettingsPass() throws {
        let stored = try Self.graph()
        #expect(ResumeCheck.differences(stored: stored, resumed: try Self.graph(), registry: .builtIn).isEmpty)
        // max_steps, threads and the slides' location may change between a run and its resume.
        let resumed = try Self.graph(["trainer.max_steps=40", "trainer.threads=1"], slides: "/moved/slides")
        #expect(ResumeCheck.differences(stored: stored, resumed: resumed, registry: .builtIn).isEmpty)
    }

    @Test func theScheduleTheHeadsTheTilesAndTheSeedAreKept() throws {
        let stored = try Self.graph()
        let resumed = try Self.graph(["trainer.epochs=32", "trainer.base_lr=0.5", "trainer.prototypes=512", "reader.mpp=1.0", "run.seed=3"])
        let lines = ResumeCheck.differences(stored: stored, resumed: resumed, registry: .builtIn)
        #expect(lines.contains("run.seed: \(stored.run.seed) in the run, 3 now"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("trainer.epochs: ") && $0.hasSuffix(" in the run, 32 now") }, "\(lines)")
        #expect(lines.contains("trainer.base_lr: 0.004 in the run, 0.5 now") || lines.contains { $0.hasPrefix("trainer.base_lr:") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("trainer.prototypes: ") && $0.hasSuffix(" in the run, 512 now") }, "\(lines)")
        #expect(lines.contains("reader.mpp: 0.5 in the run, 1.0 now"), "\(lines)")
        #expect(lines.count == 5, "\(lines)")
    }

    @Test func aRenamedStageIsStillCompared() throws {
        let lines = ResumeCheck.differences(stored: try Self.graph(), resumed: try Self.graph(["student.epochs=30"], renamed: "student"),
                                            registry: .builtIn)
        #expect(lines.count == 1 && lines.first?.hasPrefix("student.epochs: ") == true, "\(lines)")
    }
}
