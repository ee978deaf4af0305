import Foundation
import Models

/// A `TrainState` as one safetensors file, written atomically and read back strictly, so that a run continues
/// bit for bit where it stopped (issue #5 item 6; field cases E1, E2, E4, D1–D5). Docs: docs/checkpoints.md.
///
/// Tensors (all F32 except the pending sums; PyTorch names, so `safetensors.torch.load_file` reads it):
///
/// ```
/// centering.dino.pending_sum   [K] F64   queued column sums of the DINO teacher logits (SoftmaxCentering)
/// centering.ibot.pending_sum   [K] F64   the same for the iBOT centre
/// student.<name>               every StudentLayout parameter: timm backbone names (blocks.0.attn.qkv.weight …),
///                              then dino_head.… and ibot_head.… (DINOv2 names)
/// ema.<name>                   the spare EMA of the backbone, ParameterLayout names
/// optimizer.exp_avg.<name>     AdamW m, per student parameter
/// optimizer.exp_avg_sq.<name>  AdamW v, per student parameter
/// centering.dino.center        [K] the DINO centre c; centering.ibot.center [K] the iBOT centre
/// ```
///
/// A feature-distillation state (a `StudentLayout` with a projector and no heads) has no `centering.*` tensors or
/// metadata and no `prototypes`; its `student.` and `optimizer.` tensors include `projector.linear.weight` and
/// `projector.linear.bias`, and `student_layout` records `"projector": {"inFeatures": D_s, "outFeatures": D_t}`.
///
/// Metadata (each value JSON text: numbers bare, strings quoted, objects): `format` ("distillery.train-state"),
/// `format_version` (1), `iteration`, `optimizer_step`, `ema_updates` (all three equal), `samples_consumed`, `epoch`,
/// `seed`, `prototypes` (K), `backbone` (the config's name), `student_layout` (`{"backbone": ViTConfig,
/// "heads": {name: HeadConfig}, "projector": FeatureProjector}`, projector only in feature distillation), `adamw.beta1`, `adamw.beta2`, `adamw.eps`, `centering.{dino,ibot}.momentum`,
/// `centering.{dino,ibot}.pending_rows`, and FNV-1a 64 checksums (`"fnv1a64:<16 hex digits>"`, over the tensors'
/// little-endian bytes in this order): `checksum.student` (the student tensors in layout order), `checksum.ema`,
/// `checksum.optimizer` (exp_avg then exp_avg_sq, layout order), `checksum.centering` (dino center, dino
/// pending_sum, ibot center, ibot pending_sum; over nothing in feature distillation). A caller's `metadata` is stored verbatim beside them.
public enum TrainCheckpoint {
    /// The `format` metadata value.
    public static let format = "distillery.train-state"
    /// The `format_version` this code writes and reads.
    public static let formatVersion = 1

    /// Writes `state` (with its EMA) for a student of `layout` to `path`, atomically (temporary file, fsync,
    /// rename: a failed write leaves an existing `path` as it was).
    /// - Parameter metadata: extra string entries stored verbatim (keys must not be the format's own).
    /// - Throws: `TrainCheckpointError.missingEMA` when `state.ema` is nil; `.stateMismatch` when a buffer's size,
    ///   a centre's K (or centres given for a feature-distillation layout, or missing for one with heads) or the counters (iteration = optimiser step = EMA updates) do not fit; `.badMetadata` for a
    ///   reserved key in `metadata`; `SafetensorsError` from the writer.
    public static func write(_ state: TrainState, layout: StudentLayout, metadata: [String: String] = [:], to path: String) throws {
        guard let ema = state.ema else { throw TrainCheckpointError.missingEMA(path: path) }
        let prototypes = try prototypes(of: layout, path: path)
        func mismatch(_ reason: String) -> TrainCheckpointError { .stateMismatch(path: path, reason: reason) }
        guard state.student.count == layout.count else {
            throw mismatch("student of \(state.student.count) values, the layout (\(layout.backbone.name) + heads) has \(layout.count)")
        }
        guard ema.parameters.count == layout.backboneLayout.count else {
            throw mismatch("EMA of \(ema.parameters.count) values, the backbone \(layout.backbone.name) has \(layout.backboneLayout.count)")
        }
        guard state.optimizer.m.count == layout.count, state.optimizer.v.count == layout.count else {
            throw mismatch("AdamW moments of \(state.optimizer.m.count) and \(state.optimizer.v.count) values for \(layout.count) parameters")
        }
        let centerings: [SoftmaxCentering]
        if case let (dinoK, ibotK)? = prototypes {
            guard let dino = state.dinoCentering, let ibot = state.ibotCentering else {
                throw mismatch("no centres, the student has heads (K = \(dinoK), \(ibotK))")
            }
            guard dino.prototypes == dinoK, ibot.prototypes == ibotK else {
                throw mismatch("centres of K = \(dino.prototypes) (DINO) and \(ibot.prototypes) (iBOT), the heads have \(dinoK) and \(ibotK)")
            }
            centerings = [dino, ibot]
        } else {
            guard state.dinoCentering == nil, state.ibotCentering == nil else {
                throw mismatch("centres given for a feature-distillation student (projector, no heads)")
            }
            centerings = []
        }
        guard state.iteration >= 0, state.optimizer.step == state.iteration, ema.updates == state.iteration else {
            throw mismatch("iteration \(state.iteration), optimiser step \(state.optimizer.step) and EMA updates \(ema.updates) must be equal")
        }
        guard state.samplesConsumed >= 0, state.epoch >= 0 else {
            throw mismatch("samples consumed \(state.samplesConsumed) and epoch \(state.epoch) must be ≥ 0")
        }

        let entries = slots(layout, prototypes: prototypes).map { slot -> (name: String, payload: SafetensorsPayload) in
            switch slot.buffer {
            case .dinoPending: (slot.key, .float64(centerings[0].pendingSum[...], shape: slot.shape))
            case .ibotPending: (slot.key, .float64(centerings[1].pendingSum[...], shape: slot.shape))
            case .student: (slot.key, .float32(state.student[slot.range], shape: slot.shape))
            case .ema: (slot.key, .float32(ema.parameters[slot.range], shape: slot.shape))
            case .firstMoment: (slot.key, .float32(state.optimizer.m[slot.range], shape: slot.shape))
            case .secondMoment: (slot.key, .float32(state.optimizer.v[slot.range], shape: slot.shape))
            case .dinoCenter: (slot.key, .float32(centerings[0].center[...], shape: slot.shape))
            case .ibotCenter: (slot.key, .float32(centerings[1].center[...], shape: slot.shape))
            }
        }

        var fields: [String: String] = [
            "format": json(format), "format_version": "\(formatVersion)", "iteration": "\(state.iteration)",
            "optimizer_step": "\(state.optimizer.step)", "ema_updates": "\(ema.updates)",
            "samples_consumed": "\(state.samplesConsumed)", "epoch": "\(state.epoch)", "seed": "\(state.seed)",
            "backbone": json(layout.backbone.name), "student_layout": try layoutJSON(layout),
            "adamw.beta1": "\(state.optimizer.beta1)", "adamw.beta2": "\(state.optimizer.beta2)",
            "adamw.eps": "\(state.optimizer.epsilon)",
        ]
        if let dinoK = prototypes?.dino { fields["prototypes"] = "\(dinoK)" }
        for (module, centering) in zip(["dino", "ibot"], centerings) {
            fields["centering.\(module).momentum"] = "\(centering.momentum)"
            fields["centering.\(module).pending_rows"] = "\(centering.pendingRows)"
        }
        for (part, checksum) in checksums(student: state.student, ema: ema.parameters, optimizer: state.optimizer, centerings: centerings) {
            fields["checksum." + part] = json(checksum)
        }
        for (key, value) in metadata {
            guard fields[key] == nil else {
                throw TrainCheckpointError.badMetadata(path: path, key: key, reason: "reserved by the train-state format")
            }
            fields[key] = value
        }
        try SafetensorsWriter.write(entries: entries, metadata: fields, to: path)
    }

    /// Reads the train state at `path` for a student of `layout`, strictly: every tensor of the format present
    /// with its shape and dtype and nothing else, the metadata complete and consistent, and the checksums of the
    /// restored tensors equal to the stored ones (field case E4).
    /// - Returns: the state with its EMA, ready for `DistillationTrainer.restore` (the EMA for the `ema` stage).
    /// - Throws: `SafetensorsError` for an unreadable, truncated or malformed file, or a tensor of the wrong dtype;
    ///   `TrainCheckpointError.badMetadata` (another format or version, a missing or malformed entry, counters
    ///   that disagree), `.layoutMismatch` listing every setting of the student (backbone config, head sizes, K)
    ///   that differs from `layout`, `.stateMismatch` when `layout` lacks a `dino_head` or `ibot_head` (and is not a
    ///   feature-distillation layout),
    ///   `.checksumMismatch` naming the file and the part; `CheckpointError` listing every missing, unused and
    ///   mis-shaped key.
    public static func read(path: String, layout: StudentLayout) throws -> TrainState {
        let file = try SafetensorsFile(path: path)
        let metadata = MetadataReader(path: path, values: file.metadata)
        let foundFormat = try metadata.string("format")
        guard foundFormat == format else {
            throw TrainCheckpointError.badMetadata(path: path, key: "format", reason: "\"\(foundFormat)\", expected \"\(format)\"")
        }
        let version = try metadata.integer("format_version")
        guard version == formatVersion else {
            throw TrainCheckpointError.badMetadata(path: path, key: "format_version", reason: "\(version); this build reads \(formatVersion)")
        }
        let differences = try layoutDifferences(stored: metadata.raw("student_layout"), layout: layout, path: path)
        guard differences.isEmpty else { throw TrainCheckpointError.layoutMismatch(path: path, differences: differences) }
        let prototypes = try prototypes(of: layout, path: path)
        let slots = slots(layout, prototypes: prototypes)
        let dinoK = prototypes?.dino ?? 0, ibotK = prototypes?.ibot ?? 0

        let expected = Dictionary(uniqueKeysWithValues: slots.map { ($0.key, $0.shape) })
        let missing = slots.map(\.key).filter { file.entries[$0] == nil }.sorted()
        let unused = file.entries.keys.filter { expected[$0] == nil }.sorted()
        let misshaped = slots.compactMap { slot -> CheckpointError.Misshaped? in
            guard let entry = file.entries[slot.key], entry.shape != slot.shape else { return nil }
            return CheckpointError.Misshaped(key: slot.key, expected: slot.shape, found: entry.shape)
        }
        guard missing.isEmpty, unused.isEmpty, misshaped.isEmpty else {
            throw CheckpointError(path: path, model: layout.backbone.name, layout: .timm, missing: missing, unused: unused, misshaped: misshaped)
        }

        var student = [Float](repeating: 0, count: layout.count), emaValues = [Float](repeating: 0, count: layout.backboneLayout.count)
        var m = [Float](repeating: 0, count: layout.count), v = [Float](repeating: 0, count: layout.count)
        var dinoCenter = [Float](repeating: 0, count: dinoK), ibotCenter = [Float](repeating: 0, count: ibotK)
        var dinoPending: [Double] = [], ibotPending: [Double] = []
        /// Copies F32 tensor `slot` into its range of `values`.
        func copy(_ slot: Slot, into values: inout [Float]) throws {
            let dtype = try file.entry(slot.key).dtype
            guard dtype == .f32 else {
                throw SafetensorsError.dtypeMismatch(path: path, key: slot.key, dtype: dtype.rawValue, expected: SafetensorsDType.f32.rawValue)
            }
            try values.withUnsafeMutableBufferPointer { try file.copyFloats(slot.key, into: $0.baseAddress! + slot.range.lowerBound) }
        }
        for slot in slots {
            switch slot.buffer {
            case .dinoPending: dinoPending = try file.doubles(slot.key)
            case .ibotPending: ibotPending = try file.doubles(slot.key)
            case .student: try copy(slot, into: &student)
            case .ema: try copy(slot, into: &emaValues)
            case .firstMoment: try copy(slot, into: &m)
            case .secondMoment: try copy(slot, into: &v)
            case .dinoCenter: try copy(slot, into: &dinoCenter)
            case .ibotCenter: try copy(slot, into: &ibotCenter)
            }
        }

        let iteration = try metadata.integer("iteration")
        for key in ["optimizer_step", "ema_updates"] {
            let value = try metadata.integer(key)
            guard value == iteration else {
                throw TrainCheckpointError.badMetadata(path: path, key: key, reason: "\(value), but iteration is \(iteration)")
            }
        }
        let optimizer = AdamW(count: layout.count, beta1: try metadata.double("adamw.beta1"), beta2: try metadata.double("adamw.beta2"),
                              epsilon: try metadata.double("adamw.eps"), m: m, v: v,
                              step: iteration)
        let ema = StudentEMA(parameters: emaValues, updates: iteration)
        var centerings: [SoftmaxCentering] = []
        if prototypes != nil {
            centerings = [SoftmaxCentering(prototypes: dinoK, momentum: try metadata.double("centering.dino.momentum"), center: dinoCenter,
                                           pendingSum: dinoPending, pendingRows: try metadata.integer("centering.dino.pending_rows")),
                          SoftmaxCentering(prototypes: ibotK, momentum: try metadata.double("centering.ibot.momentum"), center: ibotCenter,
                                           pendingSum: ibotPending, pendingRows: try metadata.integer("centering.ibot.pending_rows"))]
        }
        for (part, computed) in checksums(student: student, ema: ema.parameters, optimizer: optimizer, centerings: centerings) {
            let stored = try metadata.string("checksum." + part)
            guard stored == computed else {
                throw TrainCheckpointError.checksumMismatch(path: path, part: part, stored: stored, computed: computed)
            }
        }
        return TrainState(iteration: iteration, student: student, ema: ema, optimizer: optimizer, dinoCentering: centerings.first,
                          ibotCentering: centerings.last, samplesConsumed: try metadata.integer("samples_consumed"),
                          epoch: try metadata.integer("epoch"), seed: try metadata.unsigned("seed"))
    }

    /// The FNV-1a 64 checksums of the restorable tensors by part, in the metadata's text form.
    static func checksums(student: [Float], ema: [Float], optimizer: AdamW,
                          centerings: [SoftmaxCentering]) -> [(part: String, checksum: String)] {
        var studentHash = FNV1a64(), emaHash = FNV1a64(), optimizerHash = FNV1a64(), centeringHash = FNV1a64()
        studentHash.combine(student)
        emaHash.combine(ema)
        optimizerHash.combine(optimizer.m)
        optimizerHash.combine(optimizer.v)
        for centering in centerings {
            centeringHash.combine(centering.center)
            centeringHash.combine(centering.pendingSum)
        }
        return [("student", studentHash.text), ("ema", emaHash.text), ("optimizer", optimizerHash.text), ("centering", centeringHash.text)]
    }

    // MARK: Private

    /// The flat buffer a tensor of the file belongs to.
    private enum Buffer {
        case student, ema, firstMoment, secondMoment, dinoCenter, ibotCenter, dinoPending, ibotPending
    }

    /// One tensor of the file: its key, shape, buffer and element range in that buffer.
    private struct Slot {
        let key: String
        let shape: [Int]
        let buffer: Buffer
        let range: Range<Int>
    }

    /// Every tensor of the format in file order (the F64 sums first, so they start 8-byte aligned).
    /// Without `prototypes` (feature distillation) there are no centre tensors.
    private static func slots(_ layout: StudentLayout, prototypes: (dino: Int, ibot: Int)?) -> [Slot] {
        var slots: [Slot] = []
        if case let (dinoPrototypes, ibotPrototypes)? = prototypes {
            slots = [Slot(key: "centering.dino.pending_sum", shape: [dinoPrototypes], buffer: .dinoPending, range: 0..<dinoPrototypes),
                     Slot(key: "centering.ibot.pending_sum", shape: [ibotPrototypes], buffer: .ibotPending, range: 0..<ibotPrototypes)]
        }
        let student = layout.layout.parameters.map { (name: $0.name, shape: $0.shape, range: $0.offset..<($0.offset + $0.count)) }
        let backbone = layout.backboneLayout.parameters.map { (name: $0.name, shape: $0.shape, range: $0.offset..<($0.offset + $0.count)) }
        for (prefix, buffer, parameters) in [("student.", Buffer.student, student), ("ema.", .ema, backbone),
                                             ("optimizer.exp_avg.", .firstMoment, student), ("optimizer.exp_avg_sq.", .secondMoment, student)] {
            slots += parameters.map { Slot(key: prefix + $0.name, shape: $0.shape, buffer: buffer, range: $0.range) }
        }
        if case let (dinoPrototypes, ibotPrototypes)? = prototypes {
            slots.append(Slot(key: "centering.dino.center", shape: [dinoPrototypes], buffer: .dinoCenter, range: 0..<dinoPrototypes))
            slots.append(Slot(key: "centering.ibot.center", shape: [ibotPrototypes], buffer: .ibotCenter, range: 0..<ibotPrototypes))
        }
        return slots
    }

    /// K of the layout's `dino_head` and `ibot_head`; nil for a feature-distillation layout (projector, no heads).
    private static func prototypes(of layout: StudentLayout, path: String) throws(TrainCheckpointError) -> (dino: Int, ibot: Int)? {
        if layout.heads.isEmpty, layout.projector != nil { return nil }
        guard let dino = layout.heads.first(where: { $0.name == "dino_head" }),
              let ibot = layout.heads.first(where: { $0.name == "ibot_head" }) else {
            throw .stateMismatch(path: path, reason: "the student layout needs a dino_head and an ibot_head, or a projector and no heads "
                                 + "(it has \(layout.heads.map(\.name)))")
        }
        return (dino.config.prototypes, ibot.config.prototypes)
    }

    /// The `student_layout` record: the backbone config and the heads' configs by name.
    private struct LayoutRecord: Codable {
        var backbone: ViTConfig
        var heads: [String: HeadConfig]
        var projector: FeatureProjector?

        init(_ layout: StudentLayout) {
            backbone = layout.backbone
            heads = Dictionary(uniqueKeysWithValues: layout.heads.map { ($0.name, $0.config) })
            projector = layout.projector
        }
    }

    private static func layoutJSON(_ layout: StudentLayout) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(LayoutRecord(layout)), as: UTF8.self)
    }

    /// `setting: file X, layout Y` for every leaf of the layout record that differs (empty when they agree).
    private static func layoutDifferences(stored: String, layout: StudentLayout, path: String) throws -> [String] {
        let record: LayoutRecord
        do {
            record = try JSONDecoder().decode(LayoutRecord.self, from: Data(stored.utf8))
        } catch {
            throw TrainCheckpointError.badMetadata(path: path, key: "student_layout", reason: "not a student layout record: \(error)")
        }
        let encoder = JSONEncoder()
        func leaves(_ record: LayoutRecord) throws -> [String: String] {
            var leaves: [String: String] = [:]
            func flatten(_ value: Any, _ prefix: String) throws {
                if let object = value as? [String: Any] {
                    for (key, child) in object { try flatten(child, prefix.isEmpty ? key : prefix + "." + key) }
                } else {
                    leaves[prefix] = String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]),
                                            as: UTF8.self)
                }
            }
            try flatten(try JSONSerialization.jsonObject(with: encoder.encode(record)), "")
            return leaves
        }
        let file = try leaves(record), wanted = try leaves(LayoutRecord(layout))
        return Set(file.keys).union(wanted.keys).sorted().compactMap { key in
            file[key] == wanted[key] ? nil : "\(key): file \(file[key] ?? "absent"), layout \(wanted[key] ?? "absent")"
        }
    }

    /// `text` as a JSON string literal.
    private static func json(_ text: String) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed])) ?? Data(), as: UTF8.self)
    }

    /// Typed access to the metadata map, each failure a `badMetadata` naming the file and key.
    private struct MetadataReader {
        let path: String
        let values: [String: String]

        func raw(_ key: String) throws(TrainCheckpointError) -> String {
            guard let value = values[key] else { throw .badMetadata(path: path, key: key, reason: "missing") }
            return value
        }

        /// A non-negative integer.
        func integer(_ key: String) throws(TrainCheckpointError) -> Int {
            let text = try raw(key)
            guard let value = Int(text), value >= 0 else { throw .badMetadata(path: path, key: key, reason: "\(text) is not an integer ≥ 0") }
            return value
        }

        func unsigned(_ key: String) throws(TrainCheckpointError) -> UInt64 {
            let text = try raw(key)
            guard let value = UInt64(text) else { throw .badMetadata(path: path, key: key, reason: "\(text) is not an unsigned 64-bit integer") }
            return value
        }

        /// A finite number.
        func double(_ key: String) throws(TrainCheckpointError) -> Double {
            let text = try raw(key)
            guard let value = Double(text), value.isFinite else { throw .badMetadata(path: path, key: key, reason: "\(text) is not a finite number") }
            return value
        }

        /// A JSON string.
        func string(_ key: String) throws(TrainCheckpointError) -> String {
            let text = try raw(key)
            guard let value = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) as? String else {
                throw .badMetadata(path: path, key: key, reason: "\(text) is not a JSON string")
            }
            return value
        }
    }
}
