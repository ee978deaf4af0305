import Foundation
import Testing
@testable import Evaluation

/// eva's linear-probe protocol and DINOv2's kNN vote against `Tests/Fixtures/evaluation/probe_fixture.json`
/// (PyTorch, made by tools/fixtures/make_probe_fixture.py with the same SplitMix64 draws), and eva's metrics
/// on constructed confusion matrices (E1, E2 of `evaluation-spec.md` §5).
@Suite struct ProbeParityTests {
    nonisolated(unsafe) static let fixture = try! loadJSON(evaluationFixtures.appendingPathComponent("probe_fixture.json"))

    /// make_probe_fixture.py's `make_classification`: (embeddings, labels) for train, validation, test.
    static func makeClassification(_ data: [String: Any]) -> [(FeatureMatrix<Float>, [Int])] {
        var rng = SplitMix64(seed: UInt64(data["seed"] as! Int))
        let classes = data["classes"] as! Int, dim = data["dim"] as! Int
        let separation = data["separation"] as! Double, noise = data["noise"] as! Double
        let means = rng.symmetricMatrix(rows: classes, columns: dim).values.map { $0 * separation }
        return (data["sizes"] as! [Int]).map { size in
            var values = [Float](), labels = [Int]()
            for _ in 0 ..< size {
                let label = Int(rng.next() % UInt64(classes))
                let row = rng.symmetricMatrix(rows: 1, columns: dim).values
                values += (0 ..< dim).map { Float(means[label * dim + $0] + noise * row[$0]) }
                labels.append(label)
            }
            return (FeatureMatrix(rows: size, columns: dim, values: values), labels)
        }
    }

    static func entry(_ name: String) -> [String: Any] {
        (fixture["cases"] as! [[String: Any]]).first { $0["name"] as? String == name }!
    }

    /// E3: the same protocol and draws as PyTorch: identical step and epoch counts, best epochs, validation
    /// curves and scores; the best heads agree to 2e-5 (float32 rounding over hundreds of AdamW steps).
    @Test(arguments: ["multiclass", "binary"])
    func linearProbe(name: String) throws {
        let entry = Self.entry(name)
        let data = entry["data"] as! [String: Any], config = entry["config"] as! [String: Any]
        let splits = Self.makeClassification(data)
        var configuration = LinearProbe.Configuration()
        configuration.batchSize = config["batch_size"] as! Int
        configuration.maxSteps = config["max_steps"] as! Int
        configuration.patience = config["patience"] as! Int
        configuration.schedule = config["schedule"] as! String == "ev25" ? .ev25 : .evh
        configuration.runs = config["runs"] as! Int
        configuration.seed = UInt64(config["seed"] as! Int)
        let report = try LinearProbe(configuration: configuration)
            .fit(train: splits[0], validation: splits[1], test: splits[2], classes: data["classes"] as! Int)
        let runs = entry["runs"] as! [[String: Any]]
        #expect(report.runs.count == runs.count)
        for (ours, theirs) in zip(report.runs, runs) {
            #expect(ours.seed == UInt64(theirs["seed"] as! Int))
            #expect(ours.steps == theirs["steps"] as! Int)
            #expect(ours.epochs == theirs["epochs"] as! Int)
            #expect(ours.bestEpoch == theirs["best_epoch"] as! Int)
            #expect(ours.validationCurve == theirs["validation_curve"] as! [Double])
            let validation = theirs["validation"] as! [String: Double], test = theirs["test"] as! [String: Double]
            #expect(ours.validation.balancedAccuracy == validation["balanced_accuracy"])
            #expect(ours.test?.balancedAccuracy == test["balanced_accuracy"])
            #expect(abs(ours.validation.accuracy - validation["accuracy"]!) < 1e-7)  // torch's mean is float32
            #expect(abs(ours.test!.accuracy - test["accuracy"]!) < 1e-7)
            let head = theirs["head"] as! [Double]
            let difference = zip(ours.head, head).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(ours.head.count == head.count && difference < 2e-5, "max |Δhead| = \(difference)")
            // The learning rate of every epoch, against torch's scheduler.
            let rates = theirs["rates"] as! [Double]
            for (epoch, rate) in rates.enumerated() {
                #expect(abs(configuration.schedule.rate(epoch: epoch, base: 3e-4) - rate) < 1e-15)
            }
        }
        let balanced = runs.map { ($0["test"] as! [String: Double])["balanced_accuracy"]! }
        #expect(abs(report.testBalancedAccuracy!.mean - balanced.reduce(0, +) / Double(balanced.count)) < 1e-15)
        #expect(report.table().contains("test balanced accuracy"))
    }

    /// kNN predictions (k = 1, 5, 20; exp(s/0.07) and majority votes) equal PyTorch's.
    @Test func knn() throws {
        let entry = Self.entry("multiclass")
        let splits = Self.makeClassification(entry["data"] as! [String: Any])
        for setting in entry["knn"] as! [[String: Any]] {
            let classifier = KNNClassifier(k: setting["k"] as! Int, temperature: setting["temperature"] as? Double,
                                           budgetBytes: 4096)
            let predicted = try classifier.predict(train: splits[0].0, labels: splits[0].1, classes: 4, query: splits[2].0)
            #expect(predicted == setting["predictions"] as! [Int], "k \(setting["k"]!), T \(setting["temperature"]!)")
            let scores = ClassificationScores(ConfusionMatrix(truth: splits[2].1, predicted: predicted, classes: 4))
            #expect(scores.balancedAccuracy == setting["balanced_accuracy"] as? Double)
        }
        #expect(throws: EvaluationError.self) {
            try KNNClassifier(k: 0).predict(train: splits[0].0, labels: splits[0].1, classes: 4, query: splits[2].0)
        }
    }

    /// E1: torchmetrics' macro accuracy keeps a class that is predicted but absent from the targets (recall 0)
    /// and skips a class absent from both; sklearn's balanced accuracy would give 0.5 here.
    @Test func macroAccuracyWithAnAbsentClass() {
        let matrix = ConfusionMatrix(truth: [0, 0, 1, 1], predicted: [0, 1, 1, 2], classes: 3)
        #expect(matrix.macroAccuracy == 1.0 / 3)
        let withUnused = ConfusionMatrix(truth: [0, 0, 1, 1], predicted: [0, 1, 1, 2], classes: 4)
        #expect(withUnused.macroAccuracy == 1.0 / 3)
        #expect(withUnused.accuracy == 0.5)
        #expect(ConfusionMatrix(truth: [2, 2, 0], predicted: [2, 2, 0], classes: 3).macroAccuracy == 1)
        #expect(ConfusionMatrix(classes: 3).macroAccuracy == 0)
    }

    /// E2: eva's binary balanced accuracy, with safe division.
    @Test func binaryBalancedAccuracy() {
        #expect(ConfusionMatrix(truth: [1, 1, 1, 0], predicted: [1, 0, 1, 1], classes: 2).binaryBalancedAccuracy == 1.0 / 3)
        #expect(ConfusionMatrix(truth: [0, 0], predicted: [0, 1], classes: 2).binaryBalancedAccuracy == 0.25)
        #expect(ConfusionMatrix(truth: [0, 1], predicted: [0, 1], classes: 2).balancedAccuracy == 1)
        #expect(LinearProbe.predict(FeatureMatrix(rowsOf: [[1], [-1], [0]]), parameters: [2, 0], outputs: 1) == [1, 0, 0])
    }

    @Test func probeRejectsBadInputs() {
        let x = FeatureMatrix<Float>(rowsOf: [[1, 0], [0, 1]])
        #expect(throws: EvaluationError("linear probe: train row 1 has class 5 outside 0..<2")) {
            try LinearProbe().fit(train: (x, [0, 5]), validation: (x, [0, 1]), classes: 2)
        }
        #expect(throws: EvaluationError("linear probe: validation has 2 embeddings but 1 labels")) {
            try LinearProbe().fit(train: (x, [0, 1]), validation: (x, [0]), classes: 2)
        }
    }
}
