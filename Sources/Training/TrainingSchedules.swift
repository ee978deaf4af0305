/// The five schedules of a DINOv2-style run, built as DINOv2's `build_schedulers` builds them
/// (distillation-spec.md §5.2; `dinov2/train/train.py`), with every "epoch" meaning `officialEpochLength`
/// iterations (`train.OFFICIAL_EPOCH_LENGTH`, 1250), independent of the dataset size:
///
///     lr            CosineScheduler(lr, minLR, E·EL, warmup = warmupEpochs·EL, start 0)
///     weight decay  CosineScheduler(wd, wdEnd, E·EL)
///     momentum      CosineScheduler(momentum, finalMomentum, E·EL)          (the spare EMA of the student)
///     teacher temp  CosineScheduler(τ, τ, τWarmupEpochs·EL, warmup = τWarmupEpochs·EL, start τ0)
///     last-layer lr the lr schedule with its first freezeLastLayerEpochs·EL values set to 0
///
/// with `lr = baseLR·√(batch/1024)` (`scaling_rule: sqrt_wrt_1024`, `dinov2/utils/config.py`).
public struct TrainingSchedules: Sendable, Equatable {
    /// The settings; each property's comment gives its DINOv2 `ssl_default_config.yaml` key (and default).
    public struct Settings: Sendable, Equatable {
        /// `optim.epochs`: the run's length in epochs of `officialEpochLength` iterations.
        public var epochs: Int
        /// `train.OFFICIAL_EPOCH_LENGTH`: iterations per "epoch", whatever the dataset size.
        public var officialEpochLength = 1250
        /// Images per step over all devices (`batch_size_per_gpu · world size`), for the lr scaling.
        public var batchSize: Int
        /// `optim.base_lr`: the lr for a batch of 1024.
        public var baseLR = 0.004
        /// `optim.min_lr`.
        public var minLR = 1e-6
        /// `optim.warmup_epochs`.
        public var warmupEpochs = 10
        /// `optim.weight_decay`.
        public var weightDecay = 0.04
        /// `optim.weight_decay_end`.
        public var weightDecayEnd = 0.4
        /// `teacher.momentum_teacher`.
        public var momentum = 0.992
        /// `teacher.final_momentum_teacher`.
        public var finalMomentum = 1.0
        /// `teacher.teacher_temp`.
        public var teacherTemperature = 0.07
        /// `teacher.warmup_teacher_temp`.
        public var warmupTeacherTemperature = 0.04
        /// `teacher.warmup_teacher_temp_epochs`.
        public var warmupTeacherTemperatureEpochs = 30
        /// `optim.freeze_last_layer_epochs`.
        public var freezeLastLayerEpochs = 1

        /// DINOv2's defaults, with the run's `epochs` and `batchSize`.
        public init(epochs: Int, batchSize: Int) {
            self.epochs = epochs
            self.batchSize = batchSize
        }

        /// H0-mini (paper Table 4): B = 2048, 105,000 iterations = 84 epochs of 1250, warmup 16 epochs,
        /// wd 0.04 → 0.4, teacher temperature 0.04 → 0.07 over 30 epochs; the rest DINOv2 defaults
        /// (distillation-spec.md §5.2, §8 item 2).
        public static let paper: Settings = {
            var settings = Settings(epochs: 84, batchSize: 2048)
            settings.warmupEpochs = 16
            return settings
        }()

        /// The peak learning rate `baseLR·√(batchSize/1024)`.
        public var lr: Double { baseLR * (Double(batchSize) / 1024.0).squareRoot() }
        /// Iterations of the run, `epochs·officialEpochLength`.
        public var totalIterations: Int { epochs * officialEpochLength }
    }

    /// The values of one iteration.
    public struct Values: Sendable, Equatable {
        /// lr, weight decay, EMA momentum, teacher temperature τ_t and last-layer lr at the iteration.
        public var lr: Double, weightDecay: Double, momentum: Double, teacherTemperature: Double, lastLayerLR: Double
    }

    /// The settings the schedules were built from.
    public let settings: Settings
    /// The lr, weight-decay and momentum tables (`epochs·EL` iterations).
    public let lr: CosineScheduler, weightDecay: CosineScheduler, momentum: CosineScheduler
    /// The teacher-temperature table (`warmupTeacherTemperatureEpochs·EL` iterations) and the last-layer lr.
    public let teacherTemperature: CosineScheduler, lastLayerLR: CosineScheduler

    /// - Throws: `TrainingError.invalidConfiguration` for a warmup longer than the run, or non-positive sizes.
    public init(_ settings: Settings) throws(TrainingError) {
        guard settings.epochs > 0, settings.officialEpochLength > 0, settings.batchSize > 0 else {
            throw .invalidConfiguration("schedules need positive epochs, OFFICIAL_EPOCH_LENGTH and batch size")
        }
        let el = settings.officialEpochLength, total = settings.totalIterations
        self.settings = settings
        lr = try CosineScheduler(baseValue: settings.lr, finalValue: settings.minLR, totalIterations: total,
                                 warmupIterations: settings.warmupEpochs * el, startWarmupValue: 0)
        weightDecay = try CosineScheduler(baseValue: settings.weightDecay, finalValue: settings.weightDecayEnd,
                                          totalIterations: total)
        momentum = try CosineScheduler(baseValue: settings.momentum, finalValue: settings.finalMomentum,
                                       totalIterations: total)
        let temperatureIterations = settings.warmupTeacherTemperatureEpochs * el
        teacherTemperature = try CosineScheduler(baseValue: settings.teacherTemperature,
                                                 finalValue: settings.teacherTemperature,
                                                 totalIterations: temperatureIterations,
                                                 warmupIterations: temperatureIterations,
                                                 startWarmupValue: settings.warmupTeacherTemperature)
        var lastLayer = lr
        lastLayer.zeroFirst(settings.freezeLastLayerEpochs * el)
        lastLayerLR = lastLayer
    }

    /// The values at `iteration`.
    public subscript(iteration: Int) -> Values {
        Values(lr: lr[iteration], weightDecay: weightDecay[iteration], momentum: momentum[iteration],
               teacherTemperature: teacherTemperature[iteration], lastLayerLR: lastLayerLR[iteration])
    }
}
