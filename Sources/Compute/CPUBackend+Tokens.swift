extension CPUBackend {
    public func assembleTokens(patchTokens: Tensor, classToken: Tensor, registerTokens: Tensor, positions: Tensor,
                               output: Tensor, batch: Int, patches: Int, registers: Int, dim: Int) {
        let length = 1 + registers + patches
        let tokens = floats(patchTokens, batch * patches * dim, "assembleTokens patches")
        let cls = floats(classToken, dim, "assembleTokens cls")
        let reg = registers > 0 ? floats(registerTokens, registers * dim, "assembleTokens registers") : cls
        let pos = floats(positions, patches * dim, "assembleTokens positions")
        let y = floats(output, batch * length * dim, "assembleTokens output")
        let full = dim & ~7
        Parallel.forEachRange(count: batch, threads: threads) { range in
            for image in range {
                let sequence = y + image * length * dim
                sequence.update(from: cls, count: dim)
                if registers > 0 { (sequence + dim).update(from: reg, count: registers * dim) }
                for patch in 0..<patches {
                    let target = sequence + (1 + registers + patch) * dim
                    let source = tokens + (image * patches + patch) * dim
                    let position = pos + patch * dim
                    var index = 0
                    while index < full {
                        target.store(source.vector(at: index) + position.vector(at: index), at: index)
                        index += 8
                    }
                    for tail in full..<dim { target[tail] = source[tail] + position[tail] }
                }
            }
        }
    }

    public func pool(tokens: Tensor, output: Tensor, pooling: Pooling, batch: Int, length: Int, prefixTokens: Int, dim: Int) {
        let x = floats(tokens, batch * length * dim, "pool tokens")
        let width = pooling.width(dim: dim)
        let y = floats(output, batch * width, "pool output")
        let averaged = length - prefixTokens
        precondition(pooling == .cls || averaged > 0, "pool: no tokens after the \(prefixTokens) prefix tokens")
        for image in 0..<batch {
            let sequence = x + image * length * dim
            let target = y + image * width
            target.update(from: sequence, count: dim)
            guard pooling == .clsMean else { continue }
            let mean = target + dim
            mean.update(repeating: 0, count: dim)
            for token in prefixTokens..<length {
                let row = sequence + token * dim
                for d in 0..<dim { mean[d] += row[d] }
            }
            let count = Float(averaged)
            for d in 0..<dim { mean[d] /= count }
        }
    }

    public func resizeGrid(input: Tensor, output: Tensor, inputHeight: Int, inputWidth: Int, outputHeight: Int,
                           outputWidth: Int, dim: Int, rows: BicubicResize, columns: BicubicResize) {
        let x = floats(input, inputHeight * inputWidth * dim, "resizeGrid input")
        let y = floats(output, outputHeight * outputWidth * dim, "resizeGrid output")
        let columnWeights = columns.weights(inputSize: inputWidth, outputSize: outputWidth)
        let rowWeights = rows.weights(inputSize: inputHeight, outputSize: outputHeight)
        // Along W: [inputHeight, outputWidth, dim].
        var across = [Float](repeating: 0, count: inputHeight * outputWidth * dim)
        for row in 0..<inputHeight {
            for column in 0..<outputWidth {
                let target = (row * outputWidth + column) * dim
                for source in 0..<inputWidth {
                    let weight = columnWeights[column * inputWidth + source]
                    guard weight != 0 else { continue }
                    let from = x + (row * inputWidth + source) * dim
                    for d in 0..<dim { across[target + d] += weight * from[d] }
                }
            }
        }
        // Along H.
        y.update(repeating: 0, count: outputHeight * outputWidth * dim)
        for row in 0..<outputHeight {
            for source in 0..<inputHeight {
                let weight = rowWeights[row * inputHeight + source]
                guard weight != 0 else { continue }
                for column in 0..<outputWidth {
                    let target = y + (row * outputWidth + column) * dim
                    let from = (source * outputWidth + column) * dim
                    for d in 0..<dim { target[d] += weight * across[from + d] }
                }
            }
        }
    }
}
