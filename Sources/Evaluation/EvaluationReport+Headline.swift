extension EvaluationReport {
    /// The report's headline figures as flat `name → value` pairs, for the stats monitor and loss-curve logs:
    ///
    /// - `robustness_cosine`: mean over slide pairs of the pair's mean cosine similarity (unrounded);
    ///   `robustness_top{k}`: mean over pairs of the top-k retrieval accuracy, for each k;
    /// - `probe_balanced_accuracy`, `probe_accuracy`: the linear probe's mean over runs, on the test split when
    ///   there is one, else on the validation split;
    /// - `knn_balanced_accuracy`, `knn_accuracy`: kNN on its split;
    /// - `regression_pearson`: the regression probe's mean Pearson correlation.
    ///
    /// Parts that were not evaluated contribute nothing.
    public var headline: [String: Double] {
        var figures: [String: Double] = [:]
        if let robustness, !robustness.pairs.isEmpty {
            let pairs = Double(robustness.pairs.count)
            figures["robustness_cosine"] = robustness.pairs.map(\.metrics.cosineSimilarity).reduce(0, +) / pairs
            for (index, k) in robustness.k.enumerated() {
                figures["robustness_top\(k)"] = robustness.pairs.map { $0.metrics.topKAccuracy[index] }.reduce(0, +) / pairs
            }
        }
        if let probe = linearProbe {
            figures["probe_balanced_accuracy"] = (probe.testBalancedAccuracy ?? probe.validationBalancedAccuracy).mean
            figures["probe_accuracy"] = (probe.testAccuracy ?? probe.validationAccuracy).mean
        }
        if let knn {
            figures["knn_balanced_accuracy"] = knn.scores.balancedAccuracy
            figures["knn_accuracy"] = knn.scores.accuracy
        }
        if let regression { figures["regression_pearson"] = regression.pearsonMean }
        return figures
    }
}
