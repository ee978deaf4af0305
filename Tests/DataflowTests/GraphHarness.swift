import Dataflow
import Stages
import Synchronization

/// Loads graph text against a registry (built-in stages plus the test stages) and runs it in-process.
enum GraphHarness {
    static var registry: StageRegistry { StageRegistry.builtIn.merging(TestStages.registry) }

    static func load(_ yaml: String, overrides: [String] = []) throws -> GraphSpec {
        try GraphLoader(registry: registry, environment: [:]).load(yaml: yaml, path: "test.yaml", overrides: overrides)
    }

    /// Builds a run of `yaml`.
    static func make(_ yaml: String) throws -> GraphRun {
        try GraphRun(graph: load(yaml), registry: registry)
    }

    /// Runs `yaml` to its end.
    static func run(_ yaml: String) async throws -> RunResult {
        try await make(yaml).run()
    }

    /// Runs `run` while sampling its stats every few milliseconds; returns the result and the samples.
    static func runSampling(_ run: GraphRun) async -> (RunResult, [GraphSnapshot]) {
        let samples = Mutex<[GraphSnapshot]>([])
        let sampler = Task {
            while !Task.isCancelled {
                let snapshot = run.snapshot()
                samples.withLock { $0.append(snapshot) }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        let result = await run.run()
        sampler.cancel()
        _ = await sampler.value
        return (result, samples.withLock { $0 })
    }
}

extension GraphSnapshot {
    func stage(_ name: String) -> StageSnapshot? { stages.first { $0.name == name } }
    func edge(_ name: String) -> EdgeSnapshot? { edges.first { $0.name == name } }
}
