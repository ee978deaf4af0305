import Dataflow

extension StageRegistry {
    /// Every stage type that ships with Distillery. Custom stages are added with
    /// ``StageRegistry/register(_:as:)-(S.Type,_)`` on a copy of it.
    public static var builtIn: StageRegistry {
        var registry = StageRegistry()
        registry.register(SyntheticSource.self, as: "synthetic-source")
        registry.register(WorkMap.self, as: "map")
        registry.register(CheckingSink.self, as: "sink")
        registry.register(FaultInjector.self, as: "fault")
        registry.register(SlideListSource.self, as: "slide-list")
        registry.register(SlideReaderStage.self, as: "slide-reader")
        registry.register(ShardWriterStage.self, as: "shard-writer")
        registry.register(ShardReaderStage.self, as: "shard-reader")
        registry.register(SlideTilesStage.self, as: "slide-tiles")
        registry.register(MultiCropStage.self, as: "multi-crop")
        registry.register(CropSetSink.self, as: "crop-sink")
        registry.register(TeacherInferenceStage.self, as: "teacher-inference")
        registry.register(EvaluatorStage.self, as: "evaluator")
        registry.register(StudentTrainerStage.self, as: "student-trainer")
        registry.register(EMAStage.self, as: "ema")
        return registry
    }
}
