// The library users depend on: `import Distillery` gives the engine (Dataflow), the built-in stages
// (Stages) and the core libraries so far: ImageOps (RGB8 images, PNG), SlideIO (OpenSlide, resolution,
// tissue, tile grid), TileShards (shard format v1) and Evaluation (feature files, robustness, probes,
// regression). Compute, Models and Distillation are re-exported here as they land.
@_exported import Dataflow
@_exported import Evaluation
@_exported import ImageOps
@_exported import SlideIO
@_exported import Stages
@_exported import TileShards
