import Distillery
import Foundation
import Testing

/// Graph files with mistakes (`Tests/Fixtures/graphs/invalid/NAME.yaml`, one mistake each) must produce
/// exactly the lines in `NAME.expected` (with `FILE` standing for the file path): one line per
/// mistake, naming file, line and key.
@Suite struct InvalidGraphTests {
    static let fixtureNames = Paths.yamlFiles(in: Paths.invalidGraphs).map(\.lastPathComponent)

    /// Fixtures whose `.expected` holds the correct output but where the loader still gets it wrong;
    /// remove an entry when its bug is fixed (the test then fails as "known issue not recorded").
    static func expectedLines(for fixture: URL) throws -> [String] {
        let expected = fixture.deletingPathExtension().appendingPathExtension("expected")
        let text = try String(contentsOf: expected, encoding: .utf8)
        return text.split(separator: "\n").map { $0.replacingOccurrences(of: "FILE", with: fixture.path) }
    }

    /// The error lines the loader reports for a file (empty when it loads).
    static func loaderErrors(_ path: String, environment: [String: String] = [:]) -> [String] {
        do {
            _ = try GraphLoader(registry: .builtIn, environment: environment).load(path: path)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func everyFixtureHasExpectedErrors() throws {
        #expect(Self.fixtureNames.count >= 35, "fixtures missing from \(Paths.invalidGraphs.path)")
        let files = try FileManager.default.contentsOfDirectory(atPath: Paths.invalidGraphs.path)
        for name in Self.fixtureNames {
            #expect(files.contains(name.replacingOccurrences(of: ".yaml", with: ".expected")), "\(name) has no .expected file")
        }
        for name in files where name.hasSuffix(".expected") {
            #expect(files.contains(name.replacingOccurrences(of: ".expected", with: ".yaml")), "\(name) has no .yaml file")
        }
    }

    @Test(arguments: fixtureNames)
    func loaderReportsExactlyTheExpectedLines(_ name: String) throws {
        let fixture = Paths.invalidGraphs.appendingPathComponent(name)
        let expected = try Self.expectedLines(for: fixture)
        #expect(!expected.isEmpty)
        let actual = Self.loaderErrors(fixture.path)
        let check = {
            #expect(actual == expected)
            for line in actual {
                #expect(!line.contains("\n"), "an error must be one line: \(line)")
                #expect(line.hasPrefix(fixture.path + ":"), "an error must name the file and line: \(line)")
            }
        }
        check()
    }

    /// `distill validate` prints the same lines, prefixed with `error: `, and exits with code 2.
    @Test(arguments: [
        "yaml-syntax.yaml", "unknown-parameter.yaml", "capacity-too-small-for-replicas.yaml", "unset-variable.yaml",
        "cycle.yaml", "run-unknown-key.yaml",
    ])
    func validateCommandPrintsTheErrorsAndExits2(_ name: String) async throws {
        let distill = try Paths.requireDistill()
        let fixture = Paths.invalidGraphs.appendingPathComponent(name)
        let result = try await runToEnd(distill, ["validate", fixture.path])
        #expect(result.status == 2)
        #expect(result.stdout == "")
        let expected = try Self.expectedLines(for: fixture).map { "error: " + $0 }
        #expect(result.stderr.split(separator: "\n").map(String.init) == expected)
    }

    @Test func validateCommandAcceptsEveryExample() async throws {
        let distill = try Paths.requireDistill()
        for example in Paths.yamlFiles(in: Paths.examples) {
            let result = try await runToEnd(distill, ["validate", example.path])
            #expect(result.status == 0, "\(example.lastPathComponent): \(result.stderr)")
            #expect(result.stdout.hasPrefix("\(example.path): ok (graph '"))
        }
    }

    // MARK: --set

    static let chain = Paths.examples.appendingPathComponent("chain.yaml").path

    static func load(_ overrides: [String], environment: [String: String] = [:]) -> Result<GraphSpec, GraphErrors> {
        Result { () throws(GraphErrors) in
            try GraphLoader(registry: .builtIn, environment: environment).load(path: chain, overrides: overrides)
        }
    }

    @Test func overridesApplyToParametersReplicasAndRunSettings() throws {
        let spec = try Self.load([
            "source.count=500", "sink.expect_count=500", "augment.replicas=3", "run.seed=3",
            "run.stats_interval=200ms", "augment.work=1ms", "pack.mode=sleep",
        ]).get()
        #expect(spec.stage("source")?.parameters.integer("count") == 500)
        #expect(spec.stage("sink")?.parameters.integer("expect_count") == 500)
        #expect(spec.stage("augment")?.replicas == 3)
        #expect(spec.stage("augment")?.parameters.seconds("work") == 0.001)
        #expect(spec.stage("pack")?.parameters.string("mode") == "sleep")
        #expect(spec.run.seed == 3)
        #expect(spec.run.statsInterval == 0.2)
        // Untouched values keep the file's.
        #expect(abs((spec.stage("decode")?.parameters.seconds("work") ?? 0) - 0.000_02) < 1e-12)
    }

    /// The single error of a load that must fail.
    static func onlyError(_ overrides: [String], environment: [String: String] = [:],
                          sourceLocation: SourceLocation = #_sourceLocation) throws -> GraphError {
        guard case .failure(let errors) = load(overrides, environment: environment) else {
            Issue.record("--set \(overrides) was accepted", sourceLocation: sourceLocation)
            throw Accepted()
        }
        try #require(errors.errors.count == 1, "\(errors)", sourceLocation: sourceLocation)
        return errors.errors[0]
    }

    struct Accepted: Error {}

    @Test func overrideOfUnknownStage() throws {
        let error = try Self.onlyError(["nosuch.count=1"])
        #expect(error.line == nil)
        #expect(error.key.hasPrefix("--set nosuch.count"))
        #expect(error.message == "no stage named 'nosuch'")
        #expect(try Self.onlyError(["sorce.count=1"]).message == "no stage named 'sorce' (did you mean 'source'?)")
    }

    @Test func overrideWithoutStageOrValue() throws {
        for text in ["noequals", "source=3"] {
            let error = try Self.onlyError([text])
            #expect(error.line == nil)
            #expect(error.key == "--set \(text)")
            #expect(error.message == "expected STAGE.PARAM=VALUE, STAGE.replicas=N or run.KEY=VALUE")
        }
    }

    @Test func overrideOfRunSettings() throws {
        #expect(try Self.load(["run.seed=3"]).get().run.seed == 3)
        let seed = try Self.onlyError(["run.seed=abc"])
        #expect(seed.description == "\(Self.chain): --set run.seed: expected a non-negative integer, got 'abc'")
        let unknown = try Self.onlyError(["run.bogus=1"])
        #expect(unknown.line == nil)
        #expect(unknown.key == "--set run.bogus")
        let replicas = try Self.onlyError(["source.replicas=0"])
        #expect(replicas.line == nil)
        #expect(replicas.key.hasPrefix("--set source.replicas"))
        #expect(replicas.message == "expected an integer from 1 to 1024, got '0'")
    }

    /// A bad value given with `--set` must be reported against `--set`, not against a line of the file
    /// that does not hold it.
    @Test(arguments: [
        ("source.count=abc", "got 'abc'"),
        ("source.nosuch=1", "unknown parameter for 'synthetic-source'"),
        ("source.rate=-1", "must be 0 (unlimited) or a positive number"),
        ("source.device=cuda", "runs on cpu, not 'cuda'"),
    ])
    func badOverrideValueNamesTheOverride(_ override: String, _ message: String) throws {
        let error = try Self.onlyError([override])
        #expect(error.message.contains(message))
        let key = "--set " + override.prefix { $0 != "=" }
        #expect(error.line == nil)
        #expect(error.key == key)
    }

    @Test func validateCommandWithOverrides() async throws {
        let distill = try Paths.requireDistill()
        let good = try await runToEnd(distill, ["validate", Self.chain, "--set", "run.seed=3", "--set", "source.count=10"])
        #expect(good.status == 0, "\(good.stderr)")
        let bad = try await runToEnd(distill, ["validate", Self.chain, "--set", "nosuch.count=1", "--set", "run.seed=x"])
        #expect(bad.status == 2)
        let lines = bad.stderr.split(separator: "\n")
        #expect(lines.count == 2, "\(bad.stderr)")
        #expect(lines.first?.hasPrefix("error: \(Self.chain): --set nosuch.count") == true)
        #expect(lines.last == "error: \(Self.chain): --set run.seed: expected a non-negative integer, got 'x'")
    }

    // MARK: ${ENV}

    static let templated = """
        name: templated-$${literal}
        run: {seed: "${SEED:-11}"}
        stages:
          - {name: source, type: synthetic-source, params: {count: "${COUNT}", item_bytes: "${SIZE:-2 KiB}"}}
          - {name: sink, type: sink}
        edges:
          - {from: source, to: sink, capacity: "${CAPACITY:-8}"}
        """

    static func loadTemplated(_ environment: [String: String], overrides: [String] = []) -> Result<GraphSpec, GraphErrors> {
        Result { () throws(GraphErrors) in
            try GraphLoader(registry: .builtIn, environment: environment)
                .load(yaml: templated, path: "templated.yaml", overrides: overrides)
        }
    }

    @Test func environmentVariablesWithAndWithoutDefaults() throws {
        let defaults = try Self.loadTemplated(["COUNT": "42"]).get()
        #expect(defaults.name == "templated-${literal}")
        #expect(defaults.run.seed == 11)
        #expect(defaults.stage("source")?.parameters.integer("count") == 42)
        #expect(defaults.stage("source")?.parameters.bytes("item_bytes") == 2048)
        #expect(defaults.edges.first?.capacity == .items(8))

        let set = try Self.loadTemplated(["COUNT": "7", "SEED": "5", "SIZE": "100", "CAPACITY": "1 MiB"]).get()
        #expect(set.run.seed == 5)
        #expect(set.stage("source")?.parameters.integer("count") == 7)
        #expect(set.stage("source")?.parameters.bytes("item_bytes") == 100)
        #expect(set.edges.first?.capacity == .bytes(1 << 20))

        // As in the shell (and Docker Compose), `${NAME:-default}` also uses the default when NAME is empty.
        let empty = try Self.loadTemplated(["COUNT": "1", "SIZE": ""]).get()
        #expect(empty.stage("source")?.parameters.bytes("item_bytes") == 2048)
    }

    @Test func unsetVariableWithoutDefault() throws {
        guard case .failure(let errors) = Self.loadTemplated([:]) else {
            Issue.record("COUNT unset was accepted")
            return
        }
        #expect(errors.errors.map(\.description) == [
            "templated.yaml:4: stages.source.params.count: environment variable COUNT is not set (use ${COUNT:-default} for a default)",
        ])
    }

    @Test func variablesInOverrides() throws {
        let spec = try Self.loadTemplated(["COUNT": "1", "N": "9"], overrides: ["source.count=${N}"]).get()
        #expect(spec.stage("source")?.parameters.integer("count") == 9)
        guard case .failure(let errors) = Self.loadTemplated(["COUNT": "1"], overrides: ["source.count=${N}"]) else {
            Issue.record("an unset variable in --set was accepted")
            return
        }
        #expect(errors.errors.count == 1)
        #expect(errors.errors.first?.line == nil)
        #expect(errors.errors.first?.key.hasPrefix("--set source.count") == true)
        #expect(errors.errors.first?.message.hasPrefix("environment variable N is not set") == true)
    }

    // MARK: ports of custom stages (the built-in stages all carry TestItem)

    static var customRegistry: StageRegistry {
        var custom = StageRegistry()
        custom.register(WordSource.self, as: "word-source")
        custom.register(WordSink.self, as: "word-sink")
        custom.register(Splitter.self, as: "splitter")
        return StageRegistry.builtIn.merging(custom)
    }

    static func customErrors(_ yaml: String) -> [String] {
        do {
            _ = try GraphLoader(registry: customRegistry, environment: [:]).load(yaml: yaml, path: "custom.yaml")
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func customStagesConnectWhenTypesMatch() {
        #expect(Self.customErrors("""
            stages:
              - {name: words, type: word-source}
              - {name: out, type: word-sink}
              - {name: source, type: synthetic-source}
              - {name: split, type: splitter}
              - {name: a, type: sink}
              - {name: b, type: sink}
            edges:
              - {from: words, to: out, capacity: 4}
              - {from: source, to: split}
              - {from: split.left, to: a}
              - {from: split.right, to: b}
            """) == [])
    }

    @Test func portTypeMismatch() {
        #expect(Self.customErrors("""
            stages:
              - {name: words, type: word-source}
              - {name: sink, type: sink}
            edges:
              - {from: words, to: sink}
            """) == ["custom.yaml:5: edges[0]: type mismatch: words.out sends WordItem but sink.in takes TestItem"])
    }

    @Test func ambiguousPort() {
        let errors = Self.customErrors("""
            stages:
              - {name: source, type: synthetic-source}
              - {name: split, type: splitter}
              - {name: a, type: sink}
              - {name: b, type: sink}
            edges:
              - {from: source, to: split}
              - {from: split, to: a}
              - {from: split.right, to: b}
            """)
        #expect(errors.first == "custom.yaml:8: edges[1].from: stage 'split' has several output ports; name one: split.left, split.right")
        #expect(errors.count == 1, "\(errors)")
    }

    @Test func byteCapacityNeedsByteSizedItems() {
        #expect(Self.customErrors("""
            stages:
              - {name: words, type: word-source}
              - {name: out, type: word-sink}
            edges:
              - from: words
                to: out
                capacity: 1 MiB
            """) == [
                "custom.yaml:7: edges[0].capacity: a capacity in bytes needs items that know their size; words sends items that are not ByteSized (give a number of items)",
            ])
    }
}

/// An item that is not ``TestItem`` and not ``ByteSized``.
struct WordItem: Sendable {
    var text: String
}

struct WordSource: Stage {
    static let summary = "Emits words (test stage)"
    static let output = OutputPort<WordItem>("out")
    static var outputs: [PortSpec] { [output.spec] }
    static let parameters: [ParameterSpec] = []
    init(parameters: StageParameters) throws {}
    func run(_ context: StageContext) async throws {
        try await context.outbox(Self.output).send(WordItem(text: "word"))
    }
}

struct WordSink: Stage {
    static let summary = "Consumes words (test stage)"
    static let input = InputPort<WordItem>("in")
    static var inputs: [PortSpec] { [input.spec] }
    static let parameters: [ParameterSpec] = []
    init(parameters: StageParameters) throws {}
    func run(_ context: StageContext) async throws {
        for try await _ in try context.inbox(Self.input) {}
    }
}

/// Two output ports of the same type: an edge must name one.
struct Splitter: Stage {
    static let summary = "Sends even items left and odd items right (test stage)"
    static let input = InputPort<TestItem>("in")
    static let left = OutputPort<TestItem>("left")
    static let right = OutputPort<TestItem>("right")
    static var inputs: [PortSpec] { [input.spec] }
    static var outputs: [PortSpec] { [left.spec, right.spec] }
    static let parameters: [ParameterSpec] = []
    init(parameters: StageParameters) throws {}
    func run(_ context: StageContext) async throws {
        let left = try context.outbox(Self.left), right = try context.outbox(Self.right)
        for try await item in try context.inbox(Self.input) {
            try await (item.sequence.isMultiple(of: 2) ? left : right).send(item)
        }
    }
}
