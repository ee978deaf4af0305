import DistillCLI
import Distillery

await Distill.main(registry: .builtIn)
