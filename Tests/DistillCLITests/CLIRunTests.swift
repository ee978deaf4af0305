import Distillery
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `distill run`, `monitor` and `bench` as real processes: exit codes, signals, run directories and the
/// monitor endpoint.
@Suite struct CLIRunTests {
    static let exampleNames = Paths.yamlFiles(in: Paths.examples).map(\.lastPathComponent)

    /// A source that would run for 500 s (200 items/s), so that only a signal or a failure ends it.
    static func longGraph(_ middle: String = "", edges: String = "  - {from: source, to: sink}",
                          run: String = "{stats_interval: 100ms}") -> String {
        """
        run: \(run)
        stages:
          - {name: source, type: synthetic-source, params: {count: 100000, rate: 200}}
        \(middle)  - {name: sink, type: sink, params: {expect_count: 100000}}
        edges:
        \(edges)
        """
    }

    // MARK: (a) examples

    @Test(arguments: exampleNames)
    func exampleValidatesAndRunsToCompletion(_ name: String) async throws {
        let distill = try Paths.requireDistill()
        let example = Paths.examples.appendingPathComponent(name)
        let validate = try await runToEnd(distill, ["validate", example.path])
        #expect(validate.status == 0, "\(validate.stderr)")

        let folder = try Paths.temporaryFolder("example")
        defer { try? FileManager.default.removeItem(at: folder) }
        let runDirectory = folder.appendingPathComponent("run")
        let run = try await runToEnd(distill, ["run", example.path, "--run-dir", runDirectory.path], timeout: .seconds(45))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("directory \(runDirectory.path)"))

        let summary = try RunFiles.summary(runDirectory)
        #expect(summary["outcome"] as? String == "completed")
        #expect(summary["exit_code"] as? Int == 0)
        let snapshots = try RunFiles.snapshots(runDirectory)
        #expect(!snapshots.isEmpty)
        #expect(snapshots.last?.state == "completed")

        let original = try GraphLoader(registry: .builtIn).load(path: example.path)
        let written = try GraphLoader(registry: .builtIn).load(path: runDirectory.appendingPathComponent("graph.yaml").path)
        #expect(written.name == original.name)
        #expect(written.run == original.run)
        #expect(written.stages.map(\.name) == original.stages.map(\.name))
        #expect(written.stages.map(\.replicas) == original.stages.map(\.replicas))
        #expect(written.stages.map(\.parameters.values) == original.stages.map(\.parameters.values))
        #expect(written.edges.map(\.name) == original.edges.map(\.name))
        #expect(written.edges.map(\.capacity) == original.edges.map(\.capacity))
    }

    @Test func runOfAnInvalidGraphExits2() async throws {
        let distill = try Paths.requireDistill()
        let fixture = Paths.invalidGraphs.appendingPathComponent("cycle.yaml")
        let result = try await runToEnd(distill, ["run", fixture.path, "--run-dir", "/nonexistent/never-created"])
        #expect(result.status == 2)
        #expect(result.stderr == "error: \(fixture.path):5: edges: cycle: a -> b -> a (a graph must be acyclic)\n")
    }

    // MARK: (b) failure

    @Test func failingStageExits1Quickly() async throws {
        let distill = try Paths.requireDistill()
        let graph = try RunFiles.graph("failing", """
            stages:
              - {name: source, type: synthetic-source, params: {count: 1000000}}
              - {name: breaker, type: fault, params: {after: 10, action: fail}}
              - {name: sink, type: sink}
            edges:
              - {from: source, to: breaker}
              - {from: breaker, to: sink}
            """)
        defer { try? FileManager.default.removeItem(at: graph.folder) }
        let runDirectory = graph.folder.appendingPathComponent("run")
        let start = ContinuousClock.now
        let result = try await runToEnd(distill, ["run", graph.path, "--run-dir", runDirectory.path])
        let elapsed = ContinuousClock.now - start
        #expect(result.status == 1)
        #expect(elapsed < .seconds(5), "a failure must stop the run at once, took \(elapsed)")
        #expect(result.stderr.contains("error: stage 'breaker' failed: injected failure after 10 items\n"), "\(result.stderr)")
        let summary = try RunFiles.summary(runDirectory)
        #expect(summary["outcome"] as? String == "failed")
        #expect(summary["exit_code"] as? Int == 1)
        #expect((summary["failure"] as? [String: String]) == ["stage": "breaker", "message": "injected failure after 10 items"])
        #expect(try RunFiles.snapshots(runDirectory).last?.state == "failed")
    }

    // MARK: (c) signals

    @Test(arguments: [(SIGINT, Int32(130), "SIGINT"), (SIGTERM, Int32(143), "SIGTERM")])
    func signalDrainsAndExits(_ signal: Int32, _ status: Int32, _ name: String) async throws {
        let distill = try Paths.requireDistill()
        let graph = try RunFiles.graph("long-\(name)", Self.longGraph())
        defer { try? FileManager.default.removeItem(at: graph.folder) }
        let runDirectory = graph.folder.appendingPathComponent("run")
        let child = try Subprocess(distill, ["run", graph.path, "--run-dir", runDirectory.path, "--monitor"])
        defer { child.killIfRunning() }
        let started = await child.stderrLine { $0.contains(" directory \(runDirectory.path)") }
        try #require(started != nil, "no 'run … directory' line: \(child.stderr.value.text)")
        try #require(await child.waitUntilRunning(), "no live stats: \(child.stderr.value.text)")

        child.signal(signal)
        // SIGINT delivered twice at once, as GNU `timeout` does (to the child, then to its process group): one
        // request, so the run still drains.
        if signal == SIGINT { child.signal(signal) }
        let exit = await child.finish(timeout: .seconds(15))
        #expect(exit == status, "\(child.stderr.value.text)")
        #expect(child.stderr.value.text.contains("run stopped by \(name) after draining"))
        #expect(!child.stderr.value.text.contains("again: stopping now"))
        let summary = try RunFiles.summary(runDirectory)
        #expect((summary["outcome"] as? String)?.hasPrefix("stopped") == true)
        #expect(summary["outcome"] as? String == "stopped by \(name)")
        #expect(summary["exit_code"] as? Int == Int(status))
        #expect((summary["hung"] as? [Any])?.isEmpty == true)
        let snapshots = try RunFiles.snapshots(runDirectory)
        #expect(snapshots.count >= 2)
        #expect(snapshots.last?.state == "stopped")
        let sink = try #require(snapshots.last?.stages.first { $0.name == "sink" })
        #expect(sink.itemsIn > 0 && sink.itemsIn < 100_000)
    }

    /// A SIGINT sent as soon as the run says it started must drain too (Ctrl-C right after starting).
    @Test func signalRightAfterTheStartLineDrains() async throws {
        let distill = try Paths.requireDistill()
        let graph = try RunFiles.graph("early-signal", Self.longGraph())
        defer { try? FileManager.default.removeItem(at: graph.folder) }
        let runDirectory = graph.folder.appendingPathComponent("run")
        let child = try Subprocess(distill, ["run", graph.path, "--run-dir", runDirectory.path])
        defer { child.killIfRunning() }
        try #require(await child.stderrLine { $0.contains(" directory \(runDirectory.path)") } != nil,
                     "\(child.stderr.value.text)")
        child.signal(SIGINT)
        #expect(await child.finish() == 130)
        #expect(FileManager.default.fileExists(atPath: runDirectory.appendingPathComponent("summary.json").path))
        #expect(child.stderr.value.text.contains("run stopped by SIGINT"))
    }

    // MARK: (d) hang

    @Test func hungStageIsNamedAndTheProcessStillExits() async throws {
        let distill = try Paths.requireDistill()
        let graph = try RunFiles.graph("hang", Self.longGraph(
            "  - {name: stuck, type: fault, params: {after: 5, action: hang}}\n",
            edges: "  - {from: source, to: stuck}\n  - {from: stuck, to: sink}",
            run: "{drain_timeout: 1s, stats_interval: 100ms}"))
        defer { try? FileManager.default.removeItem(at: graph.folder) }
        let runDirectory = graph.folder.appendingPathComponent("run")
        let child = try Subprocess(distill, ["run", graph.path, "--run-dir", runDirectory.path, "--monitor"])
        defer { child.killIfRunning() }
        try #require(await child.stderrLine { $0.contains("hanging after 5 items") } != nil, "\(child.stderr.value.text)")
        try #require(await child.waitUntilRunning(), "no live stats: \(child.stderr.value.text)")

        child.signal(SIGINT)
        let start = ContinuousClock.now
        let exit = await child.finish(timeout: .seconds(15))
        let elapsed = ContinuousClock.now - start
        #expect(exit == 130, "\(child.stderr.value.text)")
        #expect(elapsed < .seconds(6), "drain_timeout is 1s; the process took \(elapsed) to exit")
        let stderr = child.stderr.value.text
        #expect(stderr.contains("\nerror: stage 'stuck' did not stop"), "\(stderr)")
        let summary = try RunFiles.summary(runDirectory)
        #expect(summary["outcome"] as? String == "stopped by SIGINT")
        let hung = summary["hung"] as? [String] ?? []
        #expect(hung.count == 1 && hung.first?.hasPrefix("'stuck' did not stop") == true, "\(hung)")
    }

    // MARK: (e) monitor

    @Test func monitorServesSnapshotsAndPrometheusMetrics() async throws {
        let distill = try Paths.requireDistill()
        let graph = try RunFiles.graph("monitored", Self.longGraph(
            "  - {name: work, type: map, params: {work: 100us}}\n",
            edges: "  - {from: source, to: work}\n  - {from: work, to: sink}"))
        defer { try? FileManager.default.removeItem(at: graph.folder) }
        let runDirectory = graph.folder.appendingPathComponent("run")
        let child = try Subprocess(
            distill, ["run", graph.path, "--run-dir", runDirectory.path, "--listen", "127.0.0.1:0", "--monitor"])
        defer { child.killIfRunning() }
        let listening = await child.stderrLine { $0.hasPrefix("listening on 127.0.0.1:") }
        let port = try #require(listening.flatMap { UInt16($0.dropFirst("listening on 127.0.0.1:".count)) },
                                "no 'listening on' line: \(child.stderr.value.text)")
        #expect(port != 0)

        let monitor = try await runToEnd(distill, ["monitor", "127.0.0.1:\(port)", "--once", "--json"])
        #expect(monitor.status == 0, "\(monitor.stderr)")
        let snapshot = try JSONDecoder().decode(GraphSnapshot.self, from: Data(monitor.stdout.utf8))
        #expect(snapshot.graph == "monitored")
        #expect(snapshot.runID == "run")
        #expect(snapshot.state == "running")
        #expect(snapshot.stages.map(\.name) == ["source", "work", "sink"])
        #expect(snapshot.stages.map(\.type) == ["synthetic-source", "map", "sink"])
        #expect(snapshot.edges.map(\.name) == ["source.out->work.in", "work.out->sink.in"])

        let address = MonitorAddress(host: "127.0.0.1", port: port)
        let client = try await MonitorClient.snapshot(from: address)
        #expect(client.stages.map(\.name) == snapshot.stages.map(\.name))
        let metrics = try await MonitorClient.metrics(from: address)
        #expect(metrics.contains("distill_stage_items_out_total{stage=\"source\"} "))
        #expect(metrics.contains("distill_edge_depth{edge=\"source.out->work.in\"} "))
        #expect(metrics.contains("distill_edge_depth{edge="))
        Self.checkExpositionFormat(metrics)

        try #require(await child.waitUntilRunning(), "no live stats: \(child.stderr.value.text)")
        child.signal(SIGINT)
        #expect(await child.finish() == 130, "\(child.stderr.value.text)")
    }

    /// Prometheus text format 0.0.4: every sample line is `name{labels} value`, every series has a
    /// `# TYPE` line.
    static func checkExpositionFormat(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let sample = #/[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfNa]+/#
        var typed: Set<Substring> = []
        var names: Set<Substring> = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#") {
                let words = line.split(separator: " ")
                if words.count == 4, words[1] == "TYPE" {
                    #expect(["counter", "gauge", "histogram", "summary", "untyped"].contains(words[3]),
                            sourceLocation: sourceLocation)
                    typed.insert(words[2])
                }
                continue
            }
            #expect(line.wholeMatch(of: sample) != nil, "not a Prometheus sample line: \(line)",
                    sourceLocation: sourceLocation)
            names.insert(line.prefix { $0 != "{" && $0 != " " })
        }
        #expect(!names.isEmpty, sourceLocation: sourceLocation)
        #expect(names.subtracting(typed).isEmpty, "series without # TYPE: \(names.subtracting(typed).sorted())",
                sourceLocation: sourceLocation)
    }

    // MARK: (f) monitor without a graph

    @Test func monitorWithNothingListeningExits1() async throws {
        let distill = try Paths.requireDistill()
        let result = try await runToEnd(distill, ["monitor", "127.0.0.1:1", "--once", "--json"])
        #expect(result.status == 1)
        #expect(result.stdout == "")
        #expect(result.stderr.hasPrefix(
            "error: no graph answers at 127.0.0.1:1 (is `distill run --listen 127.0.0.1:1` running?)"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    // MARK: (g) bench

    @Test func engineBenchPrintsJSON() async throws {
        let distill = try Paths.requireDistill()
        let result = try await runToEnd(
            distill, ["bench", "engine", "--json", "--items", "20000", "--large-items", "200"], timeout: .seconds(60))
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["benchmark"] as? String == "engine")
        for pass in ["small", "large"] {
            let numbers = try #require(report[pass] as? [String: Any], "no '\(pass)' pass in \(result.stdout)")
            #expect((numbers["items_per_s"] as? Double ?? 0) > 0, "\(pass): \(numbers)")
            #expect((numbers["gb_per_s"] as? Double ?? 0) > 0, "\(pass): \(numbers)")
        }
        #expect((report["small"] as? [String: Any])?["items"] as? Int == 20000)
        #expect((report["large"] as? [String: Any])?["items"] as? Int == 200)
    }

    @Test func tilingBenchPrintsJSON() async throws {
        let distill = try Paths.requireDistill()
        let result = try await runToEnd(
            distill, ["bench", "tiling", "--json", "--no-reference", "--min-seconds", "0"], timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["benchmark"] as? String == "tiling")
        let totals = try #require(report["totals"] as? [String: Any])
        #expect(totals["tiles"] as? Int == 86, "39 tiles from CMU-1-Small-Region + 47 from the TCGA slide at 0.25 µm/px")
        #expect((totals["tiles_per_s_per_core"] as? Double ?? 0) > 0)
        let decode = try #require(report["decode"] as? [String: Any])
        #expect((decode["gb_per_s_per_core"] as? Double ?? 0) > 0)
        #expect(report["reference_skipped"] as? String == "--no-reference")
    }

    @Test func vitBenchPrintsJSONAndNamesAMissingAnchor() async throws {
        let distill = try Paths.requireDistill()
        let config = Paths.packageRoot.appendingPathComponent("configs/models/vit-tiny-test.yaml").path
        let result = try await runToEnd(
            distill, ["bench", "vit", "--json", "--config", config, "--batch", "2", "--min-seconds", "0",
                      "--python", "/nonexistent/python3"], timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["benchmark"] as? String == "vit")
        #expect(report["batch"] as? Int == 2 && report["image_size"] as? Int == 224)
        let models = try #require(report["swift"] as? [[String: Any]])
        #expect(models.count == 1)
        #expect(models.first?["name"] as? String == "vit-tiny-test")
        #expect(models.first?["parameters"] as? Int == 161_664)
        #expect((models.first?["images_per_s"] as? Double ?? 0) > 0)
        #expect(models.first?["passes"] as? Int == 2)
        #expect(report["reference_skipped"] as? String == "/nonexistent/python3 cannot import torch and timm")
        #expect(report["reference"] == nil && report["ratio_swift_over_python"] == nil)

        let text = try await runToEnd(
            distill, ["bench", "vit", "--config", config, "--batch", "1", "--min-seconds", "0", "--no-reference"],
            timeout: .seconds(120))
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("anchor unavailable: --no-reference"), "\(text.stdout)")
    }
}
