// The library users depend on: `import Distillery` gives the engine (Dataflow), the built-in stages
// (Stages) and the core libraries so far: ImageOps (RGB8 images, PNG), SlideIO (OpenSlide, resolution,
// tissue, tile grid) and TileShards (shard format v1). Compute, Models, Distillation and Evaluation are
// re-exported here as they land.
@_exported import Dataflow
@_exported import ImageOps
@_exported import SlideIO
@_exported import Stages
@_exported import TileShards
