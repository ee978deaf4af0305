import Foundation
import Models
import Testing
import Training

/// `CosineScheduler` and `TrainingSchedules` against DINOv2's `CosineScheduler` / `build_schedulers` (NumPy,
/// float64; the fixture script asserts its copy equals DINOv2's bit for bit). Values must be equal to the last
/// bit: the same IEEE operations in the same order, and `cos` from the same libm as NumPy's on this platform
/// (NumPy's and glibc's `cos` agree on every argument of these schedules).
@Suite struct ScheduleParityTests {
    static func expectClose(_ mine: Double, _ reference: Double, _ what: @autoclosure () -> String) {
        #expect(mine == reference, "\(what()): \(mine) vs NumPy \(reference)")
    }

    @Test func shortScheduleEveryIteration() throws {
        let file = try ObjectiveFixtures.file("schedules.safetensors")
        var settings = TrainingSchedules.Settings(epochs: 3, batchSize: 64)
        settings.officialEpochLength = 10
        settings.warmupEpochs = 1
        settings.warmupTeacherTemperatureEpochs = 2
        let schedules = try TrainingSchedules(settings)
        let reference = try ["lr", "wd", "momentum", "teacher_temp", "last_layer_lr"].map {
            try ObjectiveFixtures.doubles(file, "short.\($0)")
        }
        #expect(reference[0].count == 35)
        for iteration in 0..<35 {
            let v = schedules[iteration]
            for (index, (name, value)) in [("lr", v.lr), ("wd", v.weightDecay), ("momentum", v.momentum),
                                           ("teacher temperature", v.teacherTemperature),
                                           ("last-layer lr", v.lastLayerLR)].enumerated() {
                Self.expectClose(value, reference[index][iteration], "short \(name) at \(iteration)")
            }
        }
        // Warmup semantics: lr 0 at 0, the peak base·√(64/1024) at the warmup's last iteration (9), last layer 0
        // for the first epoch, teacher temperature 0.04 → 0.07 linearly over 20 iterations then 0.07.
        #expect(schedules[0].lr == 0 && schedules[9].lr == 0.004 * 0.25)
        #expect(schedules[9].lastLayerLR == 0 && schedules[10].lastLayerLR == schedules[10].lr)
        #expect(schedules[0].teacherTemperature == 0.04 && schedules[19].teacherTemperature == 0.07)
        #expect(schedules[25].teacherTemperature == 0.07 && schedules[1000].momentum == 1.0)
    }

    @Test func paperSchedule() throws {
        let file = try ObjectiveFixtures.file("schedules.safetensors")
        let schedules = try TrainingSchedules(.paper)
        #expect(schedules.settings.totalIterations == 105_000)
        #expect(schedules.settings.lr == 0.004 * 2.0.squareRoot())
        let iterations = try ObjectiveFixtures.integers(file, "paper.iterations")
        #expect(iterations.count > 1000)
        let reference = try ["lr", "wd", "momentum", "teacher_temp", "last_layer_lr"].map {
            try ObjectiveFixtures.doubles(file, "paper.\($0)")
        }
        for (row, iteration) in iterations.enumerated() {
            let v = schedules[iteration]
            for (index, (name, value)) in [("lr", v.lr), ("wd", v.weightDecay), ("momentum", v.momentum),
                                           ("teacher temperature", v.teacherTemperature),
                                           ("last-layer lr", v.lastLayerLR)].enumerated() {
                Self.expectClose(value, reference[index][row], "paper \(name) at \(iteration)")
            }
        }
        // Every iteration of the run and three past its end, through the fixture's hash of NumPy's values.
        let names = ["lr", "wd", "momentum", "teacher_temp", "last_layer_lr"]
        let pick: [(TrainingSchedules.Values) -> Double] = [\.lr, \.weightDecay, \.momentum, \.teacherTemperature, \.lastLayerLR]
        for (name, value) in zip(names, pick) {
            let expected = try ObjectiveFixtures.unsignedIntegers(file, "paper.fnv1a.\(name)")[0]
            let hash = ObjectiveFixtures.fnv1a64((0..<105_003).map { value(schedules[$0]) })
            #expect(hash == expected, "paper \(name): the 105,003 values differ from NumPy's somewhere")
        }
        // Spec §5.2: warmup 20,000 iterations, lr[1] = peak/19999; temperature warmup 37,500; last layer 1,250.
        #expect(schedules[1].lr == schedules.settings.lr / 19_999)
        #expect(schedules[19_999].lr == schedules.settings.lr)
        #expect(schedules[37_499].teacherTemperature == 0.07 && schedules[37_498].teacherTemperature < 0.07)
        #expect(schedules[1_249].lastLayerLR == 0 && schedules[1_250].lastLayerLR > 0)
    }

    @Test func rawSchedulerWithFreezeAndWarmup() throws {
        let file = try ObjectiveFixtures.file("schedules.safetensors")
        let scheduler = try CosineScheduler(baseValue: 1.0, finalValue: 0.1, totalIterations: 20, warmupIterations: 5,
                                            startWarmupValue: 0.2, freezeIterations: 3)
        let reference = try ObjectiveFixtures.doubles(file, "raw.values")
        for iteration in 0..<22 { Self.expectClose(scheduler[iteration], reference[iteration], "raw at \(iteration)") }
        #expect(throws: TrainingError.self) {
            try CosineScheduler(baseValue: 1, finalValue: 0, totalIterations: 4, warmupIterations: 5)
        }
    }
}
