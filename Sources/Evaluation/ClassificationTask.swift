/// Labelled embeddings for the linear probe and kNN: train, validation (early stopping) and optional test
/// splits, and the class names (class index = position).
public struct ClassificationTask: Sendable {
    /// A split: embeddings [N, D] and their class indices [N].
    public typealias Split = (features: FeatureMatrix<Float>, labels: [Int])

    /// Class names; index c is class c.
    public var classNames: [String]
    /// The training split.
    public var train: Split
    /// The split for early stopping and checkpoint choice.
    public var validation: Split
    /// The held-out split, if any.
    public var test: Split?

    /// A task from splits already labelled with indices into `classNames`.
    public init(classNames: [String], train: Split, validation: Split, test: Split? = nil) {
        self.classNames = classNames
        self.train = train
        self.validation = validation
        self.test = test
    }

    /// A task from feature files and label CSVs. Class names are the sorted distinct labels of all splits.
    /// - Parameters:
    ///   - train: the train feature file and its labels CSV.
    ///   - validation: the validation feature file and labels CSV (nil: use the test split, as eva does for
    ///     tasks without a separate validation split).
    ///   - test: the test feature file and labels CSV.
    ///   - keyColumn: CSV column of tile names to join on when the feature file has tile names (nil, or a
    ///     feature file without names: by row order).
    ///   - labelColumn: CSV column of class names.
    /// - Throws: `FeatureFileError` for unreadable files, missing columns or tiles without a label;
    ///   `EvaluationError` when there is no validation or test split or fewer than 2 classes.
    public static func load(train: (features: String, labels: String), validation: (features: String, labels: String)?,
                            test: (features: String, labels: String)?, keyColumn: String? = "file",
                            labelColumn: String = "label") throws -> ClassificationTask {
        func named(_ split: (features: String, labels: String)) throws -> (FeatureMatrix<Float>, [String]) {
            let set = try FeatureSet.read(path: split.features)
            let table = try CSVTable.read(path: split.labels)
            let label = try table.column(labelColumn, path: split.labels)
            let rows = try RowJoin.rows(for: set, featuresPath: split.features, table: table, tablePath: split.labels,
                                        keyColumn: keyColumn)
            return (set.features, rows.map { table.rows[$0][label].trimmingSpaces() })
        }
        let trainNamed = try named(train)
        let validationNamed = try validation.map(named)
        let testNamed = try test.map(named)
        guard let stopping = validationNamed ?? testNamed else {
            throw EvaluationError("the probe needs a validation or a test split for early stopping")
        }
        let classNames = Set(trainNamed.1 + stopping.1 + (testNamed?.1 ?? [])).sorted()
        guard classNames.count >= 2 else {
            throw EvaluationError("the labels name \(classNames.count) class(es) (\(classNames.joined(separator: ", "))); "
                + "a probe needs at least 2")
        }
        let index = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, $0) })
        func indexed(_ split: (FeatureMatrix<Float>, [String])) -> Split { (split.0, split.1.map { index[$0]! }) }
        return ClassificationTask(classNames: classNames, train: indexed(trainNamed), validation: indexed(stopping),
                                  test: validationNamed == nil ? nil : testNamed.map(indexed))
    }
}
