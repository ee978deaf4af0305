import Foundation
import Yams

/// Reads and validates graph files (YAML) against a ``StageRegistry`` before anything runs.
///
/// ```yaml
/// name: chain                      # optional; defaults to the file name
/// run: {seed: 7, run_dir: runs, monitor: 127.0.0.1:9464, stats_interval: 1s, drain_timeout: 10s}
/// stages:
///   - {name: source, type: synthetic-source, params: {count: 10000, item_bytes: 64 KiB}}
///   - {name: work, type: map, replicas: 4, ordered: true, params: {work: 200us}}
///   - {name: sink, type: sink, params: {expect_count: 10000, check_order: true}}
/// edges:
///   - {from: source.out, to: work.in, capacity: 64}          # items
///   - {from: work, to: sink, capacity: 16 MiB}                # bytes; `stage` alone = its only port
/// ```
///
/// Every value may use `${ENV}` / `${ENV:-default}`. Overrides (`--set STAGE.PARAM=VALUE`,
/// `--set STAGE.replicas=N`, `--set run.KEY=VALUE`) apply after the file and before validation.
/// Validation reports every mistake it finds, each as one ``GraphError`` naming file, line and key.
public struct GraphLoader: Sendable {
    /// The stage types graph files may name.
    public let registry: StageRegistry
    /// Variables for `${…}` (the process environment by default).
    public var environment: [String: String]
    /// Whether loading calls each stage's `validate(replicas:)` (the files, datasets and checkpoints it names).
    /// `distill run --dry-run` turns it off and reports those checks itself, so that a graph can be checked
    /// before its data and weights exist.
    public var validatesStages = true

    /// A loader for graphs using `registry`'s stage types, expanding `${…}` from `environment`.
    public init(registry: StageRegistry, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.registry = registry
        self.environment = environment
    }

    /// Loads and validates a graph file.
    /// - Parameters:
    ///   - path: the file.
    ///   - overrides: `KEY=VALUE` strings from `--set`.
    /// - Throws: ``GraphErrors`` with every mistake found.
    public func load(path: String, overrides: [String] = []) throws(GraphErrors) -> GraphSpec {
        func unreadable(_ reason: String) -> GraphErrors {
            GraphErrors([GraphError(file: path, line: nil, key: "", message: "cannot read the graph file: \(reason)")])
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw unreadable("it is a directory (give a graph's .yaml file)")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw unreadable(Self.reason(error))
        }
        guard let text = String(data: data, encoding: .utf8) else { throw unreadable("it is not UTF-8 text (a graph file is YAML)") }
        return try load(yaml: text, path: path, overrides: overrides)
    }

    /// Loads and validates graph text; `path` is used in messages and for the default name.
    /// - Throws: ``GraphErrors`` with every mistake found.
    public func load(yaml: String, path: String, overrides: [String] = []) throws(GraphErrors) -> GraphSpec {
        var parse = GraphParse(file: path, registry: registry, environment: environment, validatesStages: validatesStages)
        let spec = parse.run(yaml: yaml, overrides: overrides)
        guard parse.errors.isEmpty, let spec else { throw GraphErrors(parse.errors) }
        return spec
    }

    static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        return nsError.localizedDescription
    }
}

/// The state of one validation pass: collects errors as it walks the YAML tree.
struct GraphParse {
    let file: String
    let registry: StageRegistry
    let environment: [String: String]
    let validatesStages: Bool
    var errors: [GraphError] = []

    init(file: String, registry: StageRegistry, environment: [String: String], validatesStages: Bool = true) {
        self.file = file
        self.registry = registry
        self.environment = environment
        self.validatesStages = validatesStages
    }

    /// A stage as read from the file, before parameters are checked.
    struct RawStage {
        var name: String
        var type: String
        var line: Int?
        var replicas = 1
        var replicasLine: Int?
        var ordered = false
        var orderedLine: Int?
        var device = "cpu"
        var deviceLine: Int?
        /// `--set STAGE.device` when the device came from the command line.
        var deviceOverride: String?
        /// `--set STAGE.ordered` when `ordered` came from the command line.
        var orderedOverride: String?
        /// Raw parameter text (or list) by name, with its line, or the `--set STAGE.PARAM` it came from.
        var params: [(name: String, value: RawValue, line: Int?, override: String?)] = []
        var paramsLine: Int?
    }

    enum RawValue {
        case text(String)
        case list([String])
    }

    struct RawEdge {
        var from: String
        var to: String
        var capacity: String?
        var line: Int?
        var fromLine: Int?
        var toLine: Int?
        var capacityLine: Int?
        var index: Int
    }

    mutating func fail(_ line: Int?, _ key: String, _ message: String) {
        errors.append(GraphError(file: file, line: line, key: key, message: message))
    }

    mutating func run(yaml: String, overrides: [String]) -> GraphSpec? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            switch error {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
                 .composer(let context, let problem, let mark, _):
                var where_ = ""
                if let context, context.mark.line != mark.line {
                    where_ = " (\(context.text) that starts on line \(context.mark.line))"
                }
                fail(mark.line, "", "YAML syntax error: \(problem)\(where_)")
            case .duplicatedKeysInMapping(let duplicates, let context):
                let key = duplicates.first ?? ""
                fail(Self.lineOfRepeatedKey(key, in: yaml, after: context.mark.line) ?? context.mark.line, "",
                     "YAML syntax error: duplicate key '\(key)' in one mapping")
            default:
                fail(nil, "", "YAML syntax error: \(error)")
            }
            return nil
        } catch {
            fail(nil, "", "YAML syntax error: \(error)")
            return nil
        }
        guard let root, let top = root.mapping else {
            fail(root?.mark?.line, "", "a graph file is a mapping with keys name, run, stages, edges")
            return nil
        }
        var name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        var run = RunSettings()
        var stages: [RawStage] = []
        var edges: [RawEdge] = []
        var sawStages = false
        var stagesLine: Int?
        for (keyNode, value) in top {
            let key = keyNode.string ?? ""
            switch key {
            case "name":
                if let text = scalar(value, key) { name = text }
            case "description":
                _ = scalar(value, key)
            case "run":
                readRun(value, into: &run)
            case "stages":
                sawStages = true
                stagesLine = keyNode.mark?.line
                stages = readStages(value)
            case "edges":
                edges = readEdges(value)
            default:
                fail(keyNode.mark?.line, key, "unknown key (expected name, description, run, stages, edges)")
            }
        }
        if !sawStages { fail(root.mark?.line, "stages", "missing: a graph needs at least one stage") }
        if sawStages, stages.isEmpty, errors.isEmpty {
            fail(stagesLine, "stages", "empty: a graph needs at least one stage")
        }
        applyOverrides(overrides, stages: &stages, run: &run)
        let nodes = validateStages(stages)
        let edgeNodes = validateEdges(edges, stages: stages)
        guard errors.isEmpty else { return nil }
        return GraphSpec(name: name, path: file, run: run, stages: nodes, edges: edgeNodes)
    }

    /// The line of the second `key:` at or after `line` (1-based), for duplicate-key errors.
    static func lineOfRepeatedKey(_ key: String, in yaml: String, after line: Int) -> Int? {
        var seen = 0
        for (index, text) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where index + 1 >= line {
            let trimmed = text.trimmingWhitespace().drop { $0 == "-" || $0 == " " || $0 == "{" }
            var rest = Substring(trimmed)
            while let range = rest.range(of: key + ":") {
                let before = rest[..<range.lowerBound].last
                if before == nil || before == " " || before == "{" || before == "," { seen += 1 }
                if seen == 2 { return index + 1 }
                rest = rest[range.upperBound...]
            }
        }
        return nil
    }

    // MARK: Scalars

    /// A scalar's text after `${…}` expansion; records an error for non-scalars.
    mutating func scalar(_ node: Node, _ key: String) -> String? {
        guard case .scalar(let scalar) = node else {
            fail(node.mark?.line, key, "expected a single value, got a \(node.kindName)")
            return nil
        }
        return expand(scalar.string, line: node.mark?.line, key: key)
    }

    mutating func expand(_ text: String, line: Int?, key: String) -> String? {
        do {
            return try Interpolation.expand(text, environment: environment)
        } catch {
            fail(line, key, error.description)
            return nil
        }
    }

    // MARK: run

    mutating func readRun(_ node: Node, into run: inout RunSettings) {
        guard let mapping = node.mapping else {
            fail(node.mark?.line, "run", "expected a mapping of run settings")
            return
        }
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            guard let text = scalar(value, "run.\(key)") else { continue }
            setRun(key, text, line: keyNode.mark?.line, keyPath: "run.\(key)", run: &run)
        }
    }

    mutating func setRun(_ key: String, _ text: String, line: Int?, keyPath: String, run: inout RunSettings) {
        switch key {
        case "seed":
            guard let seed = UInt64(text.replacingUnderscores()) else {
                return fail(line, keyPath, "expected a non-negative integer, got '\(text)'")
            }
            run.seed = seed
        case "run_dir":
            guard !text.isEmpty else { return fail(line, keyPath, "must not be empty") }
            run.runDirectory = text
        case "monitor":
            guard MonitorAddress(text) != nil else {
                return fail(line, keyPath, "expected IPV4:PORT (e.g. 127.0.0.1:9464; IPv6 is not supported), got '\(text)'")
            }
            run.monitor = text
        case "stats_interval":
            guard let seconds = DurationFormat.parse(text), seconds >= 0.05 else {
                return fail(line, keyPath, "expected a duration of at least 50ms, got '\(text)'")
            }
            run.statsInterval = seconds
        case "drain_timeout":
            guard let seconds = DurationFormat.parse(text) else {
                return fail(line, keyPath, "expected a duration (e.g. 10s), got '\(text)'")
            }
            run.drainTimeout = seconds
        default:
            fail(line, keyPath, "unknown run setting (expected seed, run_dir, monitor, stats_interval, drain_timeout)")
        }
    }

    // MARK: stages

    mutating func readStages(_ node: Node) -> [RawStage] {
        guard let sequence = node.sequence else {
            fail(node.mark?.line, "stages", "expected a list of stages (- name: …, type: …)")
            return []
        }
        var stages: [RawStage] = []
        for (index, item) in sequence.enumerated() {
            guard let mapping = item.mapping else {
                fail(item.mark?.line, "stages[\(index)]", "expected a mapping with name and type")
                continue
            }
            var stage = RawStage(name: "", type: "", line: item.mark?.line)
            let label = mapping["name"].flatMap { $0.string } ?? "[\(index)]"
            let prefix = "stages.\(label)"
            var hasName = false
            var hasType = false
            for (keyNode, value) in mapping {
                let key = keyNode.string ?? ""
                let line = keyNode.mark?.line
                switch key {
                case "name":
                    guard let text = scalar(value, "\(prefix).name") else { continue }
                    if !Self.isIdentifier(text) {
                        fail(line, "\(prefix).name", "stage names use letters, digits, '_' and '-' (got '\(text)')")
                    }
                    stage.name = text
                    hasName = true
                case "type":
                    guard let text = scalar(value, "\(prefix).type") else { continue }
                    stage.type = text
                    hasType = true
                    if registry.descriptor(text) == nil {
                        fail(value.mark?.line, "\(prefix).type",
                             "unknown stage type '\(text)'\(Self.suggestion(text, registry.typeNames)) (registered: \(registry.typeNames.joined(separator: ", ")))")
                    }
                case "replicas":
                    guard let text = scalar(value, "\(prefix).replicas") else { continue }
                    guard let count = Int(text), count >= 1, count <= 1024 else {
                        fail(line, "\(prefix).replicas", "expected an integer from 1 to 1024, got '\(text)'")
                        continue
                    }
                    stage.replicas = count
                    stage.replicasLine = line
                case "ordered":
                    guard let text = scalar(value, "\(prefix).ordered") else { continue }
                    guard let on = ParameterSpec.boolean(text) else {
                        fail(line, "\(prefix).ordered", "expected true or false, got '\(text)'")
                        continue
                    }
                    stage.ordered = on
                    stage.orderedLine = line
                case "device":
                    guard let text = scalar(value, "\(prefix).device") else { continue }
                    stage.device = text
                    stage.deviceLine = line
                case "params":
                    stage.paramsLine = line
                    guard let params = value.mapping else {
                        if value.isNull { continue }
                        fail(line, "\(prefix).params", "expected a mapping of parameter names to values")
                        continue
                    }
                    for (paramKey, paramValue) in params {
                        let name = paramKey.string ?? ""
                        let keyPath = "\(prefix).params.\(name)"
                        if let list = paramValue.sequence {
                            var items: [String] = []
                            for element in list {
                                if let text = scalar(element, keyPath) { items.append(text) }
                            }
                            stage.params.append((name, .list(items), paramKey.mark?.line, nil))
                        } else if let text = scalar(paramValue, keyPath) {
                            stage.params.append((name, .text(text), paramKey.mark?.line, nil))
                        }
                    }
                default:
                    fail(line, "\(prefix).\(key)", "unknown stage key (expected name, type, replicas, ordered, device, params)")
                }
            }
            if !hasName { fail(item.mark?.line, "stages[\(index)]", "missing 'name'") }
            if !hasType { fail(item.mark?.line, "\(prefix)", "missing 'type'") }
            if hasName, stages.contains(where: { $0.name == stage.name }) {
                fail(stage.line, "\(prefix).name", "duplicate stage name '\(stage.name)'")
                continue
            }
            if hasName { stages.append(stage) }
        }
        return stages
    }

    static func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") && $0.isASCII }
    }

    // MARK: overrides

    mutating func applyOverrides(_ overrides: [String], stages: inout [RawStage], run: inout RunSettings) {
        for override in overrides {
            guard let equals = override.firstIndex(of: "="), let dot = override[..<equals].firstIndex(of: ".") else {
                fail(nil, "--set \(override)", "expected STAGE.PARAM=VALUE, STAGE.replicas=N or run.KEY=VALUE")
                continue
            }
            let target = String(override[..<dot])
            let name = String(override[override.index(after: dot)..<equals])
            let value = String(override[override.index(after: equals)...])
            let key = "--set \(target).\(name)"
            guard let text = expand(value, line: nil, key: key) else { continue }
            if target == "run" {
                setRun(name, text, line: nil, keyPath: key, run: &run)
                continue
            }
            guard let index = stages.firstIndex(where: { $0.name == target }) else {
                fail(nil, key, "no stage named '\(target)'\(Self.suggestion(target, stages.map(\.name)))")
                continue
            }
            switch name {
            case "replicas":
                guard let count = Int(text), count >= 1, count <= 1024 else {
                    fail(nil, key, "expected an integer from 1 to 1024, got '\(text)'")
                    continue
                }
                stages[index].replicas = count
            case "device":
                stages[index].device = text
                stages[index].deviceOverride = key
            case "ordered":
                guard let on = ParameterSpec.boolean(text) else {
                    fail(nil, key, "expected true or false, got '\(text)'")
                    continue
                }
                stages[index].ordered = on
                stages[index].orderedOverride = key
            default:
                stages[index].params.removeAll { $0.name == name }
                stages[index].params.append((name, .text(text), nil, key))
            }
        }
    }

    // MARK: stage validation

    mutating func validateStages(_ stages: [RawStage]) -> [StageNode] {
        var nodes: [StageNode] = []
        for stage in stages {
            guard let descriptor = registry.descriptor(stage.type) else { continue }
            let prefix = "stages.\(stage.name)"
            if !descriptor.devices.contains(stage.device) {
                fail(stage.deviceOverride == nil ? stage.deviceLine : nil, stage.deviceOverride ?? "\(prefix).device",
                     "stage type '\(stage.type)' runs on \(descriptor.devices.joined(separator: ", ")), not '\(stage.device)'")
            }
            if stage.ordered && !descriptor.supportsOrdered {
                fail(stage.orderedOverride == nil ? stage.orderedLine : nil, stage.orderedOverride ?? "\(prefix).ordered",
                     "only map stages can keep order; '\(stage.type)' is not a map stage")
            }
            var values: [String: ParameterValue] = [:]
            var lines: [String: Int?] = [:]
            var keys: [String: String] = [:]
            var valid = true
            for param in stage.params {
                let keyPath = param.override ?? "\(prefix).params.\(param.name)"
                let line = param.override == nil ? param.line ?? stage.line : nil
                lines[param.name] = line
                keys[param.name] = keyPath
                guard let spec = descriptor.parameter(param.name) else {
                    let known = descriptor.parameters.map(\.name)
                    fail(line, keyPath,
                         "unknown parameter for '\(stage.type)'\(Self.suggestion(param.name, known)) (accepted: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
                    valid = false
                    continue
                }
                let parsed: ParameterValue?
                switch (param.value, spec.kind) {
                case (.list(let items), .stringList): parsed = .stringList(items)
                case (.list, _): parsed = nil
                case (.text(let text), _): parsed = spec.parse(text)
                }
                guard let parsed else {
                    let shown: String
                    switch param.value {
                    case .text(let text): shown = "'\(text)'"
                    case .list: shown = "a list"
                    }
                    fail(line, keyPath, "expected \(spec.kind), got \(shown)")
                    valid = false
                    continue
                }
                values[param.name] = parsed
            }
            for spec in descriptor.parameters where values[spec.name] == nil {
                if let fallback = spec.defaultValue {
                    values[spec.name] = fallback
                } else {
                    fail(stage.paramsLine ?? stage.line, "\(prefix).params.\(spec.name)",
                         "missing required parameter: \(spec.summary) (\(spec.kind))")
                    valid = false
                }
            }
            let parameters = StageParameters(stageName: stage.name, values: values)
            if valid {
                do {
                    let instance = try descriptor.makeInstance(parameters)
                    if validatesStages { try instance.validate(replicas: stage.replicas) }
                } catch let error as ParameterError {
                    fail(lines[error.key] ?? stage.line, keys[error.key] ?? "\(prefix).params.\(error.key)", error.message)
                } catch {
                    fail(stage.line, prefix, "\(error)")
                }
            }
            nodes.append(StageNode(
                name: stage.name, type: stage.type, replicas: stage.replicas, ordered: stage.ordered,
                device: stage.device, parameters: parameters))
        }
        return nodes
    }

    // MARK: edges

    mutating func readEdges(_ node: Node) -> [RawEdge] {
        guard let sequence = node.sequence else {
            if node.isNull { return [] }
            fail(node.mark?.line, "edges", "expected a list of edges (- from: STAGE.PORT, to: STAGE.PORT)")
            return []
        }
        var edges: [RawEdge] = []
        for (index, item) in sequence.enumerated() {
            let prefix = "edges[\(index)]"
            guard let mapping = item.mapping else {
                fail(item.mark?.line, prefix, "expected a mapping with from, to and capacity")
                continue
            }
            var edge = RawEdge(from: "", to: "", line: item.mark?.line, index: index)
            for (keyNode, value) in mapping {
                let key = keyNode.string ?? ""
                let line = keyNode.mark?.line
                switch key {
                case "from":
                    edge.from = scalar(value, "\(prefix).from") ?? ""
                    edge.fromLine = line
                case "to":
                    edge.to = scalar(value, "\(prefix).to") ?? ""
                    edge.toLine = line
                case "capacity":
                    edge.capacity = scalar(value, "\(prefix).capacity")
                    edge.capacityLine = line
                default:
                    fail(line, "\(prefix).\(key)", "unknown edge key (expected from, to, capacity)")
                }
            }
            if edge.fromLine == nil { fail(edge.line, "\(prefix).from", "missing: the producing STAGE.PORT") }
            if edge.toLine == nil { fail(edge.line, "\(prefix).to", "missing: the consuming STAGE.PORT") }
            edges.append(edge)
        }
        return edges
    }

    /// Default edge capacity when a graph omits it.
    static let defaultCapacity = 16

    mutating func validateEdges(_ edges: [RawEdge], stages: [RawStage]) -> [EdgeNode] {
        var result: [EdgeNode] = []
        var consumers: [PortReference: Int] = [:]
        var producersUsed: Set<PortReference> = []
        // Stages named by edges that were rejected. When there are any, unconnected ports are not
        // reported: they are most likely the ends of those edges, and would only add noise.
        var rejected: Set<String> = []
        func stageName(_ text: String) -> String { String(text.split(separator: ".", maxSplits: 1).first ?? "") }
        for edge in edges {
            guard edge.fromLine != nil && edge.toLine != nil else {
                rejected.formUnion([stageName(edge.from), stageName(edge.to)])
                continue
            }
            let prefix = "edges[\(edge.index)]"
            var accepted = false
            defer { if !accepted { rejected.formUnion([stageName(edge.from), stageName(edge.to)]) } }
            guard let from = resolve(edge.from, direction: .output, line: edge.fromLine, key: "\(prefix).from", stages: stages),
                  let to = resolve(edge.to, direction: .input, line: edge.toLine, key: "\(prefix).to", stages: stages)
            else { continue }
            let producer = stages.first { $0.name == from.reference.stage }!
            if let previous = consumers[to.reference] {
                fail(edge.toLine, "\(prefix).to",
                     "input port \(to.reference) already has an edge (edges[\(previous)]); an input port takes one edge — use replicas on the producer to fan in")
                continue
            }
            consumers[to.reference] = edge.index
            producersUsed.insert(from.reference)
            if from.spec.typeID != to.spec.typeID {
                fail(edge.line, prefix,
                     "type mismatch: \(from.reference) sends \(from.spec.typeName) but \(to.reference) takes \(to.spec.typeName)")
                continue
            }
            let producers = producer.ordered && producer.replicas > 1 ? 1 : producer.replicas
            guard let capacity = parseCapacity(edge, byteSized: from.spec.isByteSized || to.spec.isByteSized,
                                               producers: producers, producerName: producer.name)
            else { continue }
            result.append(EdgeNode(from: from.reference, to: to.reference, capacity: capacity))
            accepted = true
        }
        // Dangling ports: every declared port must be connected.
        for stage in stages where rejected.isEmpty {
            guard let descriptor = registry.descriptor(stage.type) else { continue }
            for port in descriptor.inputs where consumers[PortReference(stage: stage.name, port: port.name)] == nil {
                fail(stage.line, "stages.\(stage.name)",
                     "input port '\(port.name)' (\(port.typeName)) has no incoming edge")
            }
            for port in descriptor.outputs where !producersUsed.contains(PortReference(stage: stage.name, port: port.name)) {
                fail(stage.line, "stages.\(stage.name)",
                     "output port '\(port.name)' (\(port.typeName)) has no outgoing edge")
            }
        }
        if let cycle = findCycle(result) {
            let line = edges.first { $0.from.hasPrefix(cycle[0] + ".") || $0.from == cycle[0] }?.line
            fail(line, "edges", "cycle: \(cycle.joined(separator: " -> ")) (a graph must be acyclic)")
        }
        return result
    }

    struct ResolvedPort {
        var reference: PortReference
        var spec: PortSpec
    }

    /// Resolves `stage.port` (or `stage` when the stage has exactly one port in that direction).
    mutating func resolve(_ text: String, direction: PortDirection, line: Int?, key: String,
                          stages: [RawStage]) -> ResolvedPort? {
        let parts = text.split(separator: ".", maxSplits: 1).map(String.init)
        guard let stageName = parts.first, !stageName.isEmpty else {
            fail(line, key, "expected STAGE.PORT, got '\(text)'")
            return nil
        }
        guard let stage = stages.first(where: { $0.name == stageName }) else {
            fail(line, key, "no stage named '\(stageName)'\(Self.suggestion(stageName, stages.map(\.name)))")
            return nil
        }
        guard let descriptor = registry.descriptor(stage.type) else { return nil }
        let ports = direction == .output ? descriptor.outputs : descriptor.inputs
        let word = direction == .output ? "output" : "input"
        if parts.count == 1 {
            guard ports.count == 1 else {
                fail(line, key, ports.isEmpty
                     ? "stage '\(stageName)' (\(stage.type)) has no \(word) ports"
                     : "stage '\(stageName)' has several \(word) ports; name one: \(ports.map { "\(stageName).\($0.name)" }.joined(separator: ", "))")
                return nil
            }
            return ResolvedPort(reference: PortReference(stage: stageName, port: ports[0].name), spec: ports[0])
        }
        guard let spec = ports.first(where: { $0.name == parts[1] }) else {
            let names = ports.map(\.name)
            fail(line, key,
                 "stage '\(stageName)' (\(stage.type)) has no \(word) port '\(parts[1])'\(Self.suggestion(parts[1], names)) (\(word)s: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
            return nil
        }
        return ResolvedPort(reference: PortReference(stage: stageName, port: spec.name), spec: spec)
    }

    mutating func parseCapacity(_ edge: RawEdge, byteSized: Bool, producers: Int, producerName: String) -> Capacity? {
        let key = "edges[\(edge.index)].capacity"
        guard let text = edge.capacity else { return .items(max(Self.defaultCapacity, producers + 1)) }
        if let count = Int(text.replacingUnderscores()) {
            guard count >= 1 else {
                fail(edge.capacityLine, key, "must be a positive number of items, got \(count)")
                return nil
            }
            guard count > producers else {
                fail(edge.capacityLine, key,
                     "capacity \(count) leaves no room: an edge needs one slot per sending task ('\(producerName)' sends from \(producers)) plus one for the item being handed to its consumer; use at least \(producers + 1)")
                return nil
            }
            return .items(count)
        }
        guard let bytes = ByteFormat.parse(text) else {
            fail(edge.capacityLine, key,
                 "expected a number of items (e.g. 64) or a size (e.g. 256 MiB; units B, KB, MB, GB, KiB, MiB, GiB), got '\(text)'")
            return nil
        }
        guard bytes >= 1 else {
            fail(edge.capacityLine, key, "must be at least 1 byte")
            return nil
        }
        guard byteSized else {
            fail(edge.capacityLine, key,
                 "a capacity in bytes needs items that know their size; \(edge.from) sends items that are not ByteSized (give a number of items)")
            return nil
        }
        return .bytes(bytes)
    }

    /// The stages of one cycle, first stage repeated at the end, or nil when acyclic.
    func findCycle(_ edges: [EdgeNode]) -> [String]? {
        var next: [String: [String]] = [:]
        for edge in edges { next[edge.from.stage, default: []].append(edge.to.stage) }
        var state: [String: Int] = [:]  // 1 = on stack, 2 = done
        var stack: [String] = []
        func visit(_ stage: String) -> [String]? {
            state[stage] = 1
            stack.append(stage)
            for successor in next[stage, default: []] {
                if state[successor] == 1 {
                    let start = stack.firstIndex(of: successor)!
                    return Array(stack[start...]) + [successor]
                }
                if state[successor] == nil, let cycle = visit(successor) { return cycle }
            }
            stack.removeLast()
            state[stage] = 2
            return nil
        }
        for stage in next.keys.sorted() where state[stage] == nil {
            if let cycle = visit(stage) { return cycle }
        }
        return nil
    }

    /// ` (did you mean 'x'?)` when a known name is within edit distance 2.
    static func suggestion(_ word: String, _ candidates: [String]) -> String {
        let best = candidates.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }
        return best.map { " (did you mean '\($0.0)'?)" } ?? ""
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(1, b.count) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}

extension Node {
    /// An empty value (`key:` with nothing after it, `~`, `null`).
    var isNull: Bool {
        guard case .scalar(let scalar) = self, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    var kindName: String {
        switch self {
        case .scalar: return "scalar"
        case .mapping: return "mapping"
        case .sequence: return "list"
        case .alias: return "alias"
        }
    }
}
