import Training

extension TrainingBatch {
    /// The batch of `outputs` (B samples, in order), rearranged crop-major as DINOv2 collates: row `c·B + b` is
    /// crop `c` of sample `b` for the global and local crops and the teacher's CLS tokens, and teacher patch rows
    /// `(c·B + b)·N + n`.
    /// - Precondition: every output has the first one's crop shapes, width and patch count.
    public init(_ outputs: [TeacherOutput]) {
        precondition(!outputs.isEmpty, "an empty training batch")
        let first = outputs[0]
        precondition(outputs.allSatisfy {
            $0.crops.globalShape == first.crops.globalShape && $0.crops.localShape == first.crops.localShape
                && $0.dim == first.dim && $0.patchTokens == first.patchTokens
        }, "teacher outputs of different shapes in one batch")
        func cropMajor(_ crops: Int, _ values: (TeacherOutput) -> [Float]) -> [Float] {
            guard crops > 0 else { return [] }
            let per = values(first).count / crops
            var result = [Float]()
            result.reserveCapacity(per * crops * outputs.count)
            for c in 0..<crops {
                for output in outputs { result += values(output)[(c * per)..<((c + 1) * per)] }
            }
            return result
        }
        let globals = first.crops.globalShape[0], locals = first.crops.localShape.first ?? 0
        self.init(samples: outputs.map { SampleTag(sampleID: $0.crops.sampleID, slideID: $0.crops.slideID, x: $0.crops.x, y: $0.crops.y) },
                  globalImages: cropMajor(globals) { $0.crops.global }, localImages: cropMajor(locals) { $0.crops.local },
                  teacherCLS: cropMajor(globals) { $0.cls }, teacherPatches: cropMajor(globals) { $0.patches })
    }
}
