// The library users depend on: `import Distillery` gives the engine (Dataflow) and the built-in
// stages (Stages). Later core libraries (SlideIO, TileShards, ImageOps, Compute, Models,
// Distillation, Evaluation) are re-exported here as they land.
@_exported import Dataflow
@_exported import Stages
