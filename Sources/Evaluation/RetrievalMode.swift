/// How top-k retrieval excludes the query tile itself (`evaluation-spec.md` §1.5).
public enum RetrievalMode: String, Sendable, Codable, CaseIterable {
    /// The exact definition: a hit at k when fewer than k candidates other than the query and its match
    /// are strictly more similar than the match. Independent of tie order.
    case exact
    /// plismbench's computation (PB `metrics/retrieval.py`): drop the single most similar row — assumed to
    /// be the query itself — then look for the match among the next k. When the match ties or beats the
    /// self-similarity it is the one dropped (identical slides score 0.5, not 1). Ties are ordered by
    /// lower row index first, which reproduces the reference on exact duplicates.
    case plismbench
}
