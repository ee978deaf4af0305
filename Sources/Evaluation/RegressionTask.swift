/// Embeddings with numeric targets for the HEST-style regression probe: one or more folds of
/// (train, test) splits and the target names.
public struct RegressionTask: Sendable {
    /// A fold: train and test embeddings [N, D] and targets [N, T].
    public struct Fold: Sendable {
        /// Train embeddings.
        public var xTrain: FeatureMatrix<Double>
        /// Train targets.
        public var yTrain: FeatureMatrix<Double>
        /// Test embeddings.
        public var xTest: FeatureMatrix<Double>
        /// Test targets.
        public var yTest: FeatureMatrix<Double>

        /// A fold from its four matrices.
        public init(xTrain: FeatureMatrix<Double>, yTrain: FeatureMatrix<Double>, xTest: FeatureMatrix<Double>,
                    yTest: FeatureMatrix<Double>) {
            self.xTrain = xTrain
            self.yTrain = yTrain
            self.xTest = xTest
            self.yTest = yTest
        }
    }

    /// Target names (genes), [T].
    public var targetNames: [String]
    /// The folds.
    public var folds: [Fold]

    /// A task with the given folds.
    public init(targetNames: [String], folds: [Fold]) {
        self.targetNames = targetNames
        self.folds = folds
    }

    /// One fold from feature files and target CSVs: every CSV column except `keyColumn` is a target (HEST:
    /// log1p expression per gene), rows joined to tiles by `keyColumn` or by order.
    /// - Throws: `FeatureFileError` for unreadable files, non-numeric targets (naming row and column),
    ///   differing target columns, or tiles without a row.
    public static func load(train: (features: String, targets: String), test: (features: String, targets: String),
                            keyColumn: String? = nil) throws -> RegressionTask {
        func split(_ files: (features: String, targets: String)) throws -> (FeatureMatrix<Double>, FeatureMatrix<Double>, [String]) {
            let set = try FeatureSet.read(path: files.features)
            let table = try CSVTable.read(path: files.targets)
            let key = try keyColumn.map { name throws(FeatureFileError) in try table.column(name, path: files.targets) }
            let columns = table.header.indices.filter { $0 != key }
            let rows = try RowJoin.rows(for: set, featuresPath: files.features, table: table, tablePath: files.targets,
                                        keyColumn: keyColumn)
            var values = [Double]()
            values.reserveCapacity(rows.count * columns.count)
            for row in rows {
                for column in columns {
                    guard let value = Double(table.rows[row][column].trimmingSpaces()) else {
                        throw FeatureFileError(path: files.targets, "row \(row + 1), column '\(table.header[column])': "
                            + "'\(table.rows[row][column])' is not a number")
                    }
                    values.append(value)
                }
            }
            return (set.features.converted(to: Double.self),
                    FeatureMatrix(rows: rows.count, columns: columns.count, values: values), columns.map { table.header[$0] })
        }
        let (xTrain, yTrain, names) = try split(train)
        let (xTest, yTest, testNames) = try split(test)
        guard names == testNames else {
            throw FeatureFileError(path: test.targets, "target columns \(testNames) differ from the train file's \(names)")
        }
        return RegressionTask(targetNames: names, folds: [Fold(xTrain: xTrain, yTrain: yTrain, xTest: xTest, yTest: yTest)])
    }
}
