extension ClassificationTask {
    /// A task from one labelled set of embeddings held in memory (the evaluator stage's held-out tiles): each row
    /// of `features` is joined to its row of `labels` by tile name (`RowJoin`), then split
    ///
    /// - by the `splitColumn` column when the CSV has one (values `train`, `val`/`validation`, `test`; other values
    ///   drop the row), or else
    /// - stratified and deterministic: per class, in tile-name order, every third tile (the 3rd, 6th, …) is held
    ///   out as the test split and the rest trains.
    ///
    /// Without a validation split the test split also serves for early stopping, as `load` does (eva's rule).
    /// - Parameters:
    ///   - features: the embeddings, with `tileNames`.
    ///   - labels: the labels CSV; `labelsPath` names it in errors.
    ///   - keyColumn: CSV column of tile names; `labelColumn`: of class names; `splitColumn`: of split names.
    /// - Throws: `FeatureFileError` for a missing column or a tile without a row; `EvaluationError` when a split
    ///   needed for training or stopping is empty or there are fewer than 2 classes.
    public static func heldOut(features: FeatureSet, labels: CSVTable, labelsPath: String, keyColumn: String = "file",
                               labelColumn: String = "label", splitColumn: String = "split") throws -> ClassificationTask {
        let name = features.metadata.name ?? "held-out tiles"
        let rows = try RowJoin.rows(for: features, featuresPath: name, table: labels, tablePath: labelsPath, keyColumn: keyColumn)
        let label = try labels.column(labelColumn, path: labelsPath)
        let classes = rows.map { labels.rows[$0][label].trimmingSpaces() }
        let classNames = Set(classes).sorted()
        guard classNames.count >= 2 else {
            throw EvaluationError("\(labelsPath): the held-out tiles have \(classNames.count) class(es) "
                + "(\(classNames.joined(separator: ", "))); a probe needs at least 2")
        }
        let index = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, $0) })

        var train: [Int] = [], validation: [Int] = [], test: [Int] = []
        if labels.header.contains(splitColumn) {
            let split = try labels.column(splitColumn, path: labelsPath)
            for (row, csvRow) in rows.enumerated() {
                switch labels.rows[csvRow][split].trimmingSpaces().lowercased() {
                case "train": train.append(row)
                case "val", "validation": validation.append(row)
                case "test": test.append(row)
                default: continue
                }
            }
        } else {
            let names = features.tileNames ?? rows.map(String.init)
            var seen: [String: Int] = [:]
            for row in rows.indices.sorted(by: { names[$0] < names[$1] }) {
                seen[classes[row], default: 0] += 1
                if seen[classes[row]]! % 3 == 0 { test.append(row) } else { train.append(row) }
            }
        }
        let stopping = validation.isEmpty ? test : validation
        guard !train.isEmpty, !stopping.isEmpty else {
            throw EvaluationError("\(labelsPath): the held-out tiles give \(train.count) training and \(stopping.count) "
                + "validation/test rows; both must be non-empty")
        }
        func split(_ rows: [Int]) -> Split { (features.features.selectingRows(rows), rows.map { index[classes[$0]]! }) }
        return ClassificationTask(classNames: classNames, train: split(train), validation: split(stopping),
                                  test: validation.isEmpty || test.isEmpty ? nil : split(test))
    }
}
