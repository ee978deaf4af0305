// The library users depend on: `import Distillery` gives the engine (Dataflow), the built-in stages
// (Stages) and the core libraries so far: ImageOps (RGB8 images, PNG, JPEG), SlideIO (OpenSlide, resolution,
// tissue, tile grid), TileShards (shard format v1), Compute (tensors, the backend kernel set, CPUBackend),
// Models (ViT, configs, safetensors), Evaluation (feature files, robustness, probes, regression) and
// Embedding (tiles to feature files with a ViT).
// Distillation is re-exported here as it lands.
@_exported import Compute
@_exported import Dataflow
@_exported import Embedding
@_exported import Evaluation
@_exported import ImageOps
@_exported import Models
@_exported import SlideIO
@_exported import Stages
@_exported import TileShards
