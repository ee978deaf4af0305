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

    /// Per image by rows of the sequence: the patch rows copied out, the CLS, register and position rows summed
    /// over images into their gradients (by `dim` columns across threads, so no two threads add to one element).
    public func assembleTokensBackward(outputGradient: Tensor, patchTokensGradient: Tensor, classTokenGradient: Tensor,
                                       registerTokensGradient: Tensor?, positionsGradient: Tensor,
                                       batch: Int, patches: Int, registers: Int, dim: Int) {
        let length = 1 + registers + patches
        let dy = floats(outputGradient, batch * length * dim, "assembleTokensBackward outputGradient")
        let dPatches = floats(patchTokensGradient, batch * patches * dim, "assembleTokensBackward patchTokensGradient")
        let dCls = floats(classTokenGradient, dim, "assembleTokensBackward classTokenGradient")
        let dReg = registers > 0 ? floats(registerTokensGradient!, registers * dim, "assembleTokensBackward registerTokensGradient") : nil
        let dPos = floats(positionsGradient, patches * dim, "assembleTokensBackward positionsGradient")
        Parallel.forEachRange(count: batch * patches, threads: threads, minimumChunk: 64) { range in
            for item in range {
                let image = item / patches, patch = item % patches
                (dPatches + item * dim).update(from: dy + (image * length + 1 + registers + patch) * dim, count: dim)
            }
        }
        // Prefix rows (CLS, registers) then position rows, each summed over the batch.
        addColumnSums(rows: batch, columns: dim, into: dCls) { image, d, lanes in dy.vector(at: image * length * dim + d, lanes: lanes) }
        if let dReg {
            addColumnSums(rows: batch, columns: registers * dim, into: dReg) { image, column, lanes in
                dy.vector(at: (image * length + 1) * dim + column, lanes: lanes)
            }
        }
        addColumnSums(rows: batch, columns: patches * dim, into: dPos) { image, column, lanes in
            dy.vector(at: (image * length + 1 + registers) * dim + column, lanes: lanes)
        }
    }

    public func selectTokens(tokens: Tensor, output: Tensor, batch: Int, length: Int, first: Int, count: Int, dim: Int) {
        precondition(first >= 0 && first + count <= length, "selectTokens: tokens \(first)..<\(first + count) of \(length)")
        let x = floats(tokens, batch * length * dim, "selectTokens tokens")
        let y = floats(output, batch * count * dim, "selectTokens output")
        Parallel.forEachRange(count: batch, threads: threads) { range in
            for image in range {
                (y + image * count * dim).update(from: x + (image * length + first) * dim, count: count * dim)
            }
        }
    }

    public func selectTokensBackward(outputGradient: Tensor, tokensGradient: Tensor, batch: Int, length: Int, first: Int,
                                     count: Int, dim: Int) {
        precondition(first >= 0 && first + count <= length, "selectTokensBackward: tokens \(first)..<\(first + count) of \(length)")
        let dy = floats(outputGradient, batch * count * dim, "selectTokensBackward outputGradient")
        let dx = floats(tokensGradient, batch * length * dim, "selectTokensBackward tokensGradient")
        Parallel.forEachRange(count: batch, threads: threads) { range in
            for image in range {
                let source = dy + image * count * dim, target = dx + (image * length + first) * dim
                for index in 0..<(count * dim) { target[index] += source[index] }
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

    /// The transpose of `resizeGrid`'s two passes, in reverse order: along H (`Rᵀ`), then along W (`Cᵀ`), added
    /// into `inputGradient`.
    public func resizeGridBackward(outputGradient: Tensor, inputGradient: Tensor, inputHeight: Int, inputWidth: Int,
                                   outputHeight: Int, outputWidth: Int, dim: Int, rows: BicubicResize, columns: BicubicResize) {
        let dy = floats(outputGradient, outputHeight * outputWidth * dim, "resizeGridBackward outputGradient")
        let dx = floats(inputGradient, inputHeight * inputWidth * dim, "resizeGridBackward inputGradient")
        let columnWeights = columns.weights(inputSize: inputWidth, outputSize: outputWidth)
        let rowWeights = rows.weights(inputSize: inputHeight, outputSize: outputHeight)
        // Along H, transposed: [inputHeight, outputWidth, dim].
        var across = [Float](repeating: 0, count: inputHeight * outputWidth * dim)
        for row in 0..<outputHeight {
            for source in 0..<inputHeight {
                let weight = rowWeights[row * inputHeight + source]
                guard weight != 0 else { continue }
                for column in 0..<outputWidth {
                    let from = dy + (row * outputWidth + column) * dim
                    let target = (source * outputWidth + column) * dim
                    for d in 0..<dim { across[target + d] += weight * from[d] }
                }
            }
        }
        // Along W, transposed.
        for row in 0..<inputHeight {
            for column in 0..<outputWidth {
                let from = (row * outputWidth + column) * dim
                for source in 0..<inputWidth {
                    let weight = columnWeights[column * inputWidth + source]
                    guard weight != 0 else { continue }
                    let target = dx + (row * inputWidth + source) * dim
                    for d in 0..<dim { target[d] += weight * across[from + d] }
                }
            }
        }
    }
}
