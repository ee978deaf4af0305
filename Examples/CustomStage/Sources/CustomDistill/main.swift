import DistillCLI
import Distillery
import TileStages

// `custom-distill`: the whole `distill` command set (run, validate, monitor, stages, bench) with the
// built-in stages plus this package's stages.
var registry = StageRegistry.builtIn
registry.registerTileStages()
await Distill.main(registry: registry)
