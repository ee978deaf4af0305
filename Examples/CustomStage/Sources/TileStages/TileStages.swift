import Distillery

extension StageRegistry {
    /// Adds this package's stages. Registration is explicit Swift code: a graph file can only name
    /// types registered here or built in; it never loads code of its own.
    public mutating func registerTileStages() {
        register(TileSource.self, as: "tile-source")
        register(TileStatsStage.self, as: "tile-stats")
        register(StatsReport.self, as: "stats-report")
    }
}
