// swift-tools-version: 6.2
// Distillery: a Swift dataflow engine that distills large pathology foundation models into small ones.
// Layout: docs/architecture.md (follows ../shared/docs/DESIGN.md §1).
import PackageDescription

let package = Package(
    name: "Distillery",
    products: [
        .library(name: "Distillery", targets: ["Distillery"]),
        // The `distill` command set, for packages that ship a `distill` with their own stages.
        .library(name: "DistillCLI", targets: ["DistillCLI"]),
        .executable(name: "distill", targets: ["distill"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swhitty/FlyingFox.git", from: "0.27.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // System libraries (Debian: libopenslide-dev, libzstd-dev, zlib1g-dev, libpng-dev, libhdf5-dev,
        // libopenblas-dev, libjpeg62-turbo-dev, libtiff-dev, libopenjp2-7-dev).
        .systemLibrary(name: "COpenSlide", pkgConfig: "openslide", providers: [.apt(["libopenslide-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng16", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        // libjpeg-turbo decoding whose fatal errors return a message instead of exiting (C: error_exit longjmps).
        .target(name: "CJPEGShim", dependencies: ["CJPEG"]),
        // libtiff and OpenJPEG: TIFF slide levels decoded without OpenSlide's compositing (TIFFLevelDecoder).
        .systemLibrary(name: "CTIFF", pkgConfig: "libtiff-4", providers: [.apt(["libtiff-dev"])]),
        .systemLibrary(name: "COpenJPEG", pkgConfig: "libopenjp2", providers: [.apt(["libopenjp2-7-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5-serial", providers: [.apt(["libhdf5-dev"])]),
        // cblas and the LAPACK routines OpenBLAS exports (Fortran ABI; prototypes in shim.h).
        .systemLibrary(name: "CLAPACK", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // RGB8 images, PNG and JPEG files, PIL-exact image ops and DINOv2 multi-crop (Yams reads its config file).
        .target(name: "ImageOps", dependencies: ["CPNG", "CJPEGShim", .product(name: "Yams", package: "Yams")]),
        // Whole-slide images: OpenSlide reader, resolution, levels, tissue detection, tile grid.
        .target(name: "SlideIO", dependencies: ["COpenSlide", "CTIFF", "COpenJPEG", "CJPEGShim", "ImageOps"]),
        // Tile shard format v1: writer, reader, index, verify.
        .target(name: "TileShards", dependencies: ["CZstd", "CZlib"]),
        // Evaluation of embeddings: PLISM robustness, linear probe, kNN, HEST regression, feature files.
        .target(name: "Evaluation", dependencies: ["CHDF5", "CLAPACK", "Compute"]),
        // Tensors and the backend kernel set; CPUBackend on OpenBLAS (DESIGN.md §4).
        .target(name: "Compute", dependencies: ["CBLAS"]),
        // ViT (timm/DINOv2 family), configs, safetensors I/O, checkpoint key maps.
        .target(name: "Models", dependencies: ["Compute", .product(name: "Yams", package: "Yams")]),
        // The CUDA backend, loaded at run time (dlopen of libcuda, libnvrtc, libcublasLt; never linked): kernel
        // sources compiled by NVRTC, the bf16 ViT forward on cuBLASLt, the training kernels and their parity against
        // the CPU training types (docs/cuda.md).
        .target(name: "CUDA", dependencies: ["Compute", "Models", "Training"]),
        // Embeddings of tiles (shards or image folders) with a ViT, written as feature files (`distill embed`).
        .target(name: "Embedding", dependencies: ["Models", "Compute", "ImageOps", "TileShards", "Evaluation", "CUDA"]),
        // Student training (never Dataflow): the ViT's training forward/backward with cached activations, DINO/iBOT
        // projection heads; DINO/iBOT losses, centering, Sinkhorn-Knopp, feature distillation, schedules,
        // parameter groups, AdamW, per-module gradient clipping.
        .target(name: "Training", dependencies: ["Compute", "Models"]),
        // The engine: stages, edges, graph files, runner, stats, monitor.
        .target(
            name: "Dataflow",
            dependencies: [
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        // Built-in stage actors (test stages now; slide readers, augmentation, teacher, trainer later).
        .target(name: "Stages", dependencies: ["Dataflow", "SlideIO", "TileShards", "ImageOps", "Compute", "Models", "Embedding", "Evaluation", "Training", "CUDA"]),
        // Benchmarks behind `distill bench`.
        .target(name: "Benchmarks", dependencies: ["Dataflow", "Stages", "SlideIO", "TileShards", "ImageOps", "Compute", "Models", "Training", "CUDA"]),
        // The library users depend on: re-exports the modules above.
        .target(name: "Distillery", dependencies: ["Dataflow", "Stages", "SlideIO", "TileShards", "ImageOps", "Evaluation", "Compute", "Models", "Embedding"]),
        // The `distill` command set, as a library so custom-stage packages can ship their own `distill`.
        .target(
            name: "DistillCLI",
            dependencies: [
                "Distillery", "Benchmarks", "CUDA",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "distill", dependencies: ["DistillCLI"]),
        // Test helpers shared by the test targets (the package root and ../shared beside it).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "DataflowTests", dependencies: ["Dataflow", "Stages"]),
        .testTarget(name: "ImageOpsTests", dependencies: ["TestSupport", "ImageOps"]),
        .testTarget(name: "SlideIOTests", dependencies: ["TestSupport", "SlideIO", "ImageOps", "CTIFF"]),
        .testTarget(name: "TileShardsTests", dependencies: ["TestSupport", "TileShards"]),
        .testTarget(name: "EvaluationTests", dependencies: ["TestSupport", "Evaluation"]),
        .testTarget(name: "ComputeTests", dependencies: ["Compute"]),
        .testTarget(name: "CUDATests", dependencies: ["TestSupport", "CUDA", "Compute", "Models", "Training"]),
        .testTarget(name: "ModelsTests", dependencies: ["TestSupport", "Models", "Compute", "ImageOps"]),
        .testTarget(name: "EmbeddingTests", dependencies: ["TestSupport", "Embedding", "Models", "Compute", "ImageOps", "TileShards", "Evaluation"]),
        .testTarget(name: "TrainingTests", dependencies: ["TestSupport", "Training", "Models", "Compute", "ImageOps"]),
        .testTarget(name: "StagesTests", dependencies: ["TestSupport", "Stages", "Dataflow", "SlideIO", "TileShards", "ImageOps", "Compute", "Models", "Embedding", "Evaluation", "Training"]),
        .testTarget(
            name: "DistillCLITests",
            dependencies: ["DistillCLI", "distill", "TileShards", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
    ]
}
