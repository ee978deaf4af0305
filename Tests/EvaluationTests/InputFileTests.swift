import Foundation
import Testing
@testable import Evaluation

/// Label and target CSVs: parsing, joining rows to tiles by name or order, and one clear error per mistake.
@Suite struct InputFileTests {
    @Test func csvParsing() throws {
        let table = try CSVTable.parse("file,label\r\n\"a,b.png\",tissue\n\"say \"\"hi\"\"\",background\n\n", path: "x.csv")
        #expect(table.header == ["file", "label"])
        #expect(table.rows == [["a,b.png", "tissue"], ["say \"hi\"", "background"]])
        #expect(throws: FeatureFileError(path: "x.csv", "line 3: 1 fields; the header has 2")) {
            try CSVTable.parse("a,b\n1,2\n3\n", path: "x.csv")
        }
        #expect(throws: FeatureFileError(path: "x.csv", "line 2: unterminated quoted field")) {
            try CSVTable.parse("a,b\n\"1,2\n", path: "x.csv")
        }
    }

    @Test func rowsJoinByNameOrOrder() throws {
        let table = try CSVTable.parse("file,label\na.png,x\nb.png,y\nc.png,z\n", path: "l.csv")
        let named = FeatureSet(features: FeatureMatrix(zeros: 2, columns: 1), tileNames: ["dir/c.png", "a.png"])
        #expect(try RowJoin.rows(for: named, featuresPath: "f.h5", table: table, tablePath: "l.csv", keyColumn: "file") == [2, 0])
        let unnamed = FeatureSet(features: FeatureMatrix(zeros: 3, columns: 1))
        #expect(try RowJoin.rows(for: unnamed, featuresPath: "f.h5", table: table, tablePath: "l.csv", keyColumn: "file") == [0, 1, 2])
        let missing = FeatureSet(features: FeatureMatrix(zeros: 1, columns: 1), tileNames: ["d.png"])
        #expect(throws: FeatureFileError(path: "l.csv", "no row for tile 'd.png' (row 0 of f.h5) in column 'file'")) {
            try RowJoin.rows(for: missing, featuresPath: "f.h5", table: table, tablePath: "l.csv", keyColumn: "file")
        }
        #expect(throws: FeatureFileError(path: "l.csv", "3 rows for the 2 tiles of f.h5; rows are matched by order")) {
            try RowJoin.rows(for: FeatureSet(features: FeatureMatrix(zeros: 2, columns: 1)), featuresPath: "f.h5",
                             table: table, tablePath: "l.csv", keyColumn: nil)
        }
    }

    @Test func classificationTaskAndEvaluator() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let features = FeatureMatrix<Float>(rowsOf: [[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]])
        try FeatureSet(features: features, tileNames: ["a", "b", "c", "d"]).write(to: directory + "/f.h5")
        try "file,label\nd,round\nc,round\nb,flat\na,flat\n".write(toFile: directory + "/l.csv", atomically: true, encoding: .utf8)
        let task = try ClassificationTask.load(train: (directory + "/f.h5", directory + "/l.csv"), validation: nil,
                                               test: (directory + "/f.h5", directory + "/l.csv"))
        #expect(task.classNames == ["flat", "round"] && task.train.labels == [0, 0, 1, 1] && task.test == nil)
        var request = EmbeddingEvaluator.Request()
        request.classification = task
        var configuration = LinearProbe.Configuration()
        configuration.runs = 2
        configuration.maxSteps = 50
        request.linearProbe = LinearProbe(configuration: configuration)
        request.knn = KNNClassifier(k: 1)
        let report = try EmbeddingEvaluator().evaluate(request)
        #expect(report.knn?.scores.accuracy == 1 && report.linearProbe?.runs.count == 2)
        #expect(try EvaluationReport.decode(json: report.json()) == report)
        // NaN (a constant target's Pearson r) survives the round trip as "nan".
        var withNaN = report
        withNaN.regression = RegressionReport(components: 1, folds: [HESTRegression.FoldResult(
            targets: ["g"], pearson: [.nan], pearsonMean: .nan, pearsonStd: .nan, alpha: 1, trainCount: 2, testCount: 2)])
        let decoded = try EvaluationReport.decode(json: withNaN.json())
        #expect(try withNaN.json().contains("\"nan\"") && decoded.regression?.pearsonMean.isNaN == true)
        try report.write(to: directory + "/report.json")
        #expect(FileManager.default.fileExists(atPath: directory + "/report.json"))

        try "file,label\na,flat\nb,flat\nc,flat\nd,flat\n".write(toFile: directory + "/one.csv", atomically: true, encoding: .utf8)
        #expect(throws: EvaluationError("the labels name 1 class(es) (flat); a probe needs at least 2")) {
            try ClassificationTask.load(train: (directory + "/f.h5", directory + "/one.csv"), validation: nil,
                                        test: (directory + "/f.h5", directory + "/one.csv"))
        }
    }

    @Test func regressionTargetsNameTheBadCell() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FeatureSet(features: FeatureMatrix(zeros: 2, columns: 2)).write(to: directory + "/f.h5")
        try "g1,g2\n1,2\n3,n/a\n".write(toFile: directory + "/t.csv", atomically: true, encoding: .utf8)
        #expect(throws: FeatureFileError(path: directory + "/t.csv", "row 2, column 'g2': 'n/a' is not a number")) {
            try RegressionTask.load(train: (directory + "/f.h5", directory + "/t.csv"), test: (directory + "/f.h5", directory + "/t.csv"))
        }
    }
}
