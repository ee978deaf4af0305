/// HEST-Benchmark's gene-expression probe (`evaluation-spec.md` §3.2; HE `bench/benchmark.py::
/// predict_single_split`, `bench/trainer.py::train_test_reg`): standardise the embeddings on the train
/// spots, project them on the top `components` principal axes (exact PCA), fit ridge without intercept with
/// α = 100 / (components · targets), and score each target by Pearson's r on the test spots.
public struct HESTRegression: Sendable {
    /// The PCA dimension (HEST: 256).
    public var components: Int

    /// A probe reducing to `components` dimensions.
    public init(components: Int = 256) { self.components = components }

    /// One fold (split): per-target correlations and their mean.
    public struct FoldResult: Sendable, Equatable, Codable {
        /// Target names, [T].
        public var targets: [String]
        /// Pearson's r per target on the test spots, [T] (NaN for a constant target or prediction).
        public var pearson: [Double]
        /// `np.mean(pearson)` (NaN if any r is NaN).
        public var pearsonMean: Double
        /// `np.std(pearson)`, population.
        public var pearsonStd: Double
        /// The ridge penalty used.
        public var alpha: Double
        /// Train and test spot counts.
        public var trainCount: Int
        /// Test spots.
        public var testCount: Int
    }

    /// Runs one fold: fits on (xTrain, yTrain), scores on (xTest, yTest).
    /// - Parameters:
    ///   - xTrain: train embeddings, [N, D].
    ///   - yTrain: train targets (HEST: log1p expression of 50 genes), [N, T].
    ///   - xTest: test embeddings, [M, D].
    ///   - yTest: test targets, [M, T].
    ///   - targetNames: T names (default "0", "1", …).
    /// - Throws: `EvaluationError` when shapes disagree, there are too few spots for the PCA, or LAPACK fails.
    public func evaluate(xTrain: FeatureMatrix<Double>, yTrain: FeatureMatrix<Double>, xTest: FeatureMatrix<Double>,
                         yTest: FeatureMatrix<Double>, targetNames: [String]? = nil) throws(EvaluationError) -> FoldResult {
        guard xTrain.rows == yTrain.rows, xTest.rows == yTest.rows else {
            throw EvaluationError("regression: embeddings and targets disagree in rows (train \(xTrain.rows) vs "
                + "\(yTrain.rows), test \(xTest.rows) vs \(yTest.rows))")
        }
        guard xTrain.columns == xTest.columns, yTrain.columns == yTest.columns else {
            throw EvaluationError("regression: train and test disagree in columns (embeddings \(xTrain.columns) vs "
                + "\(xTest.columns), targets \(yTrain.columns) vs \(yTest.columns))")
        }
        guard xTest.rows >= 2 else { throw EvaluationError("regression: needs at least 2 test spots, got \(xTest.rows)") }
        let names = targetNames ?? (0 ..< yTrain.columns).map(String.init)
        guard names.count == yTrain.columns else {
            throw EvaluationError("regression: \(names.count) target names for \(yTrain.columns) target columns")
        }
        let scaler = Standardizer(fitting: xTrain)
        let pca = try PrincipalComponents(fitting: scaler.transform(xTrain), components: components)
        let zTrain = pca.transform(scaler.transform(xTrain))
        let zTest = pca.transform(scaler.transform(xTest))
        let alpha = RidgeRegression.hestAlpha(features: components, targets: yTrain.columns)
        let ridge = try RidgeRegression(fitting: zTrain, targets: yTrain, alpha: alpha)
        let pearson = PearsonCorrelation.perColumn(yTest, ridge.predict(zTest))
        return FoldResult(targets: names, pearson: pearson, pearsonMean: NumPyStatistics.mean(pearson),
                          pearsonStd: NumPyStatistics.standardDeviation(pearson), alpha: alpha,
                          trainCount: xTrain.rows, testCount: xTest.rows)
    }

    /// HEST's per-task aggregation over folds (`merge_fold_results`): the mean and population std of the fold
    /// means.
    public static func aggregate(_ folds: [FoldResult]) -> (mean: Double, std: Double) {
        let means = folds.map(\.pearsonMean)
        return (NumPyStatistics.mean(means), NumPyStatistics.standardDeviation(means))
    }
}
