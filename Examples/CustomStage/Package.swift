// swift-tools-version: 6.2
// An example of a package that adds its own stages to Distillery and ships its own `distill`
// (here called `custom-distill`) that can run graphs using them. See README.md.
import PackageDescription

let package = Package(
    name: "CustomStage",
    products: [
        .executable(name: "custom-distill", targets: ["CustomDistill"]),
    ],
    dependencies: [
        // The Distillery checkout this example lives in (named, so that `package: "Distillery"` below
        // works whatever the checkout's folder is called). In your own package, a URL and a version.
        .package(name: "Distillery", path: "../.."),
    ],
    targets: [
        // The stages: depend only on the `Distillery` library.
        .target(
            name: "TileStages",
            dependencies: [.product(name: "Distillery", package: "Distillery")]
        ),
        // The command: the `distill` command set (`DistillCLI`) with the stages above registered.
        .executableTarget(
            name: "CustomDistill",
            dependencies: [
                "TileStages",
                .product(name: "Distillery", package: "Distillery"),
                .product(name: "DistillCLI", package: "Distillery"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
