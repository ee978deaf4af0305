/// The evaluation entry point for callers holding embeddings in memory (the evaluator stage, the CLI):
/// given robustness slides, a labelled classification task and/or a regression task, it runs the configured
/// metrics and returns one `EvaluationReport`.
public struct EmbeddingEvaluator: Sendable {
    /// What to evaluate; every part is optional.
    public struct Request: Sendable {
        /// Slides of registered tiles for PLISM robustness (rows aligned across slides).
        public var robustnessSlides: [RobustnessSlide<Float>]?
        /// Robustness settings.
        public var robustness = RobustnessBenchmark()
        /// Labelled embeddings for the linear probe and kNN.
        public var classification: ClassificationTask?
        /// Linear probe settings; nil skips the probe.
        public var linearProbe: LinearProbe? = LinearProbe()
        /// kNN settings; nil skips kNN.
        public var knn: KNNClassifier? = KNNClassifier()
        /// Embeddings with targets for the regression probe.
        public var regression: RegressionTask?
        /// Regression settings.
        public var hest = HESTRegression()

        /// An empty request (nothing to evaluate yet).
        public init() {}
    }

    /// An evaluator.
    public init() {}

    /// Runs every part of `request` that has inputs.
    /// - Throws: `EvaluationError` from the parts (see each).
    public func evaluate(_ request: Request) throws(EvaluationError) -> EvaluationReport {
        var report = EvaluationReport()
        if let slides = request.robustnessSlides {
            report.robustness = try request.robustness.evaluate(slides)
        }
        if let task = request.classification {
            let classes = task.classNames.count
            if let probe = request.linearProbe {
                report.linearProbe = try probe.fit(train: task.train, validation: task.validation, test: task.test,
                                                   classes: classes)
            }
            if let knn = request.knn {
                let (split, name) = task.test.map { ($0, "test") } ?? (task.validation, "validation")
                let predicted = try knn.predict(train: task.train.features, labels: task.train.labels, classes: classes,
                                                query: split.features)
                report.knn = KNNReport(k: knn.k, temperature: knn.temperature, split: name,
                                       scores: ClassificationScores(ConfusionMatrix(truth: split.labels, predicted: predicted,
                                                                                    classes: classes)))
            }
            report.classNames = task.classNames
        }
        if let task = request.regression {
            let folds = try task.folds.map { fold throws(EvaluationError) in
                try request.hest.evaluate(xTrain: fold.xTrain, yTrain: fold.yTrain, xTest: fold.xTest, yTest: fold.yTest,
                                          targetNames: task.targetNames)
            }
            report.regression = RegressionReport(components: request.hest.components, folds: folds)
        }
        return report
    }
}
