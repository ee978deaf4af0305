import Foundation
import Yams

/// A multi-crop configuration file that cannot be used: the file, the line and the key, and why.
public struct MultiCropConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    /// 1-based line, when known.
    public let line: Int?
    /// Dotted key (`color_jitter.hue`), or empty for the whole file.
    public let key: String
    public let message: String

    public var description: String {
        let location = line.map { "\(path):\($0)" } ?? path
        return key.isEmpty ? "\(location): \(message)" : "\(location): \(key): \(message)"
    }
}

extension MultiCropConfig {
    /// Reads a configuration file such as `configs/augment/dinov2.yaml`. Keys left out keep DINOv2's values
    /// (``init()``); unknown keys, values of the wrong kind and out-of-range values are errors.
    /// - Throws: ``MultiCropConfigError`` naming the file, line and key.
    public static func load(path: String) throws -> MultiCropConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw MultiCropConfigError(path: path, line: nil, key: "", message: "cannot read the file: \(error.localizedDescription)")
        }
        return try MultiCropConfig(yaml: text, path: path)
    }

    /// Parses configuration text (the format of ``load(path:)``); `path` names it in errors.
    /// - Throws: ``MultiCropConfigError``.
    public init(yaml: String, path: String = "<text>") throws {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw MultiCropConfigError(path: path, line: nil, key: "", message: "YAML syntax error: \(error)")
        }
        var config = MultiCropConfig()
        guard let root else { self = config; return }
        var reader = ConfigReader(path: path)
        try reader.read(root, into: &config)
        if let problem = config.problems().first {
            let key = String(problem.prefix { $0 != ":" })
            throw MultiCropConfigError(path: path, line: reader.lines[key], key: key,
                                       message: String(problem.dropFirst(key.count + 2)))
        }
        self = config
    }
}

/// Walks the YAML tree; remembers each key's line for range errors found afterwards.
private struct ConfigReader {
    let path: String
    var lines: [String: Int] = [:]

    func error(_ node: Node?, _ key: String, _ message: String) -> MultiCropConfigError {
        MultiCropConfigError(path: path, line: node?.mark?.line, key: key, message: message)
    }

    /// The entries of a mapping, each key checked against `allowed`.
    mutating func entries(_ node: Node, _ key: String, allowed: [String]) throws -> [(String, Node)] {
        guard let mapping = node.mapping else {
            throw error(node, key, "expected a mapping with keys \(allowed.joined(separator: ", "))")
        }
        var result: [(String, Node)] = []
        for (keyNode, value) in mapping {
            let name = keyNode.string ?? ""
            let path = key.isEmpty ? name : "\(key).\(name)"
            guard allowed.contains(name) else {
                throw error(keyNode, path, "unknown key (expected \(allowed.joined(separator: ", ")))")
            }
            lines[path] = keyNode.mark?.line
            result.append((name, value))
        }
        return result
    }

    func number(_ node: Node, _ key: String) throws -> Double {
        guard case .scalar = node, let value = node.float, value.isFinite else {
            throw error(node, key, "expected a number")
        }
        return value
    }

    func integer(_ node: Node, _ key: String) throws -> Int {
        guard case .scalar = node, let value = node.int else { throw error(node, key, "expected an integer") }
        return value
    }

    func range(_ node: Node, _ key: String) throws -> ClosedRange<Double> {
        let values = try list(node, key, count: 2)
        guard values[0] <= values[1] else { throw error(node, key, "expected [low, high] with low ≤ high, got \(values)") }
        return values[0]...values[1]
    }

    func list(_ node: Node, _ key: String, count: Int) throws -> [Double] {
        guard let sequence = node.sequence, sequence.count == count else {
            throw error(node, key, "expected a list of \(count) numbers")
        }
        return try sequence.map { try number($0, key) }
    }

    mutating func read(_ root: Node, into config: inout MultiCropConfig) throws {
        let top = ["global_crops", "local_crops", "ratio", "horizontal_flip", "vertical_flip", "rotate_90", "color_jitter",
                   "grayscale", "gaussian_blur", "solarize", "normalize", "resize_pass_order"]
        for (name, value) in try entries(root, "", allowed: top) {
            switch name {
            case "global_crops": config.global = try crops(value, name)
            case "local_crops": config.local = try crops(value, name)
            case "ratio": config.ratio = try range(value, name)
            case "horizontal_flip": config.horizontalFlip = try number(value, name)
            case "vertical_flip": config.verticalFlip = try number(value, name)
            case "rotate_90": config.rotate90 = try number(value, name)
            case "grayscale": config.grayscale = try number(value, name)
            case "resize_pass_order":
                let orders = BicubicResize.PassOrder.allCases.map(\.rawValue)
                guard case .scalar = value, let text = value.string, let order = BicubicResize.PassOrder(rawValue: text) else {
                    throw error(value, name, "expected one of \(orders.joined(separator: ", "))")
                }
                config.resizePassOrder = order
            case "color_jitter":
                for (key, node) in try entries(value, name, allowed: ["probability", "brightness", "contrast", "saturation", "hue"]) {
                    let number = try number(node, "\(name).\(key)")
                    switch key {
                    case "probability": config.colorJitter.probability = number
                    case "brightness": config.colorJitter.brightness = number
                    case "contrast": config.colorJitter.contrast = number
                    case "saturation": config.colorJitter.saturation = number
                    default: config.colorJitter.hue = number
                    }
                }
            case "gaussian_blur": try blur(value, name, into: &config.blur)
            case "solarize":
                for (key, node) in try entries(value, name, allowed: ["threshold", "probability"]) {
                    if key == "threshold" {
                        config.solarizeThreshold = try integer(node, "\(name).\(key)")
                    } else {
                        config.solarizeProbability = try number(node, "\(name).\(key)")
                    }
                }
            default:
                for (key, node) in try entries(value, name, allowed: ["mean", "std"]) {
                    let values = try list(node, "\(name).\(key)", count: 3)
                    if key == "mean" { config.mean = values } else { config.std = values }
                }
            }
        }
    }

    mutating func crops(_ node: Node, _ key: String) throws -> MultiCropConfig.Crops {
        var crops = key == "global_crops" ? MultiCropConfig().global : MultiCropConfig().local
        for (name, value) in try entries(node, key, allowed: ["number", "size", "scale"]) {
            switch name {
            case "number": crops.number = try integer(value, "\(key).number")
            case "size": crops.size = try integer(value, "\(key).size")
            default: crops.scale = try range(value, "\(key).scale")
            }
        }
        return crops
    }

    mutating func blur(_ node: Node, _ key: String, into blur: inout MultiCropConfig.Blur) throws {
        for (name, value) in try entries(node, key, allowed: ["kernel_size", "sigma", "choice", "probabilities"]) {
            let path = "\(key).\(name)"
            switch name {
            case "kernel_size": blur.kernelSize = try integer(value, path)
            case "sigma": blur.sigma = try range(value, path)
            case "choice":
                let choices = MultiCropConfig.BlurChoice.allCases.map(\.rawValue)
                guard case .scalar = value, let text = value.string, let choice = MultiCropConfig.BlurChoice(rawValue: text) else {
                    throw error(value, path, "expected one of \(choices.joined(separator: ", "))")
                }
                blur.choice = choice
            default:
                let choices = MultiCropConfig.BlurChoice.allCases.map(\.rawValue)
                for (choiceName, table) in try entries(value, path, allowed: choices) {
                    let choice = MultiCropConfig.BlurChoice(rawValue: choiceName)!
                    var probabilities = blur.table[choice] ?? MultiCropConfig.defaultBlurTable[choice]!
                    for (crop, number) in try entries(table, "\(path).\(choiceName)", allowed: ["global_1", "global_2", "local"]) {
                        let value = try self.number(number, "\(path).\(choiceName).\(crop)")
                        switch crop {
                        case "global_1": probabilities.global1 = value
                        case "global_2": probabilities.global2 = value
                        default: probabilities.local = value
                        }
                    }
                    blur.table[choice] = probabilities
                }
            }
        }
    }
}
