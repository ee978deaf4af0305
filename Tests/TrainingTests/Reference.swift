import Compute
import Foundation

/// Double-precision reference forwards of every layer, written from the formulas (distillation-spec.md §2.2,
/// §3.1; PyTorch semantics) one scalar at a time: the functions the finite-difference checks differentiate.
/// Row-major flat arrays, shapes as in `Backend`.
enum Reference {
    /// `y[r, o] = Σ_i x[r, i]·W[o, i] + b[o]`.
    static func linear(_ x: [Double], _ w: [Double], _ b: [Double]?, rows: Int, inFeatures: Int, outFeatures: Int) -> [Double] {
        var y = [Double](repeating: 0, count: rows * outFeatures)
        for r in 0..<rows {
            for o in 0..<outFeatures {
                var sum = b?[o] ?? 0
                for i in 0..<inFeatures { sum += x[r * inFeatures + i] * w[o * inFeatures + i] }
                y[r * outFeatures + o] = sum
            }
        }
        return y
    }

    /// `F.layer_norm`: biased variance.
    static func layerNorm(_ x: [Double], _ w: [Double], _ b: [Double], rows: Int, dim: Int, eps: Double) -> [Double] {
        var y = x
        for r in 0..<rows {
            let row = x[(r * dim)..<((r + 1) * dim)]
            let mean = row.reduce(0, +) / Double(dim)
            var squares = 0.0
            for value in row { squares += (value - mean) * (value - mean) }
            let variance = squares / Double(dim)
            for d in 0..<dim { y[r * dim + d] = (x[r * dim + d] - mean) / (variance + eps).squareRoot() * w[d] + b[d] }
        }
        return y
    }

    /// Softmax attention on packed qkv `[B, T, 3, H, hd]` → `[B, T, H, hd]`.
    static func attention(_ qkv: [Double], batch: Int, tokens: Int, heads: Int, headDim: Int) -> [Double] {
        let dim = heads * headDim, stride = 3 * dim
        let scale = 1 / Double(headDim).squareRoot()
        var out = [Double](repeating: 0, count: batch * tokens * dim)
        for b in 0..<batch {
            for h in 0..<heads {
                for i in 0..<tokens {
                    var scores = [Double](repeating: 0, count: tokens)
                    for j in 0..<tokens {
                        var dot = 0.0
                        for c in 0..<headDim {
                            dot += qkv[(b * tokens + i) * stride + h * headDim + c] * qkv[(b * tokens + j) * stride + dim + h * headDim + c]
                        }
                        scores[j] = dot * scale
                    }
                    let maximum = scores.max()!
                    let exps = scores.map { Foundation.exp($0 - maximum) }
                    let total = exps.reduce(0, +)
                    for c in 0..<headDim {
                        var sum = 0.0
                        for j in 0..<tokens { sum += exps[j] / total * qkv[(b * tokens + j) * stride + 2 * dim + h * headDim + c] }
                        out[(b * tokens + i) * dim + h * headDim + c] = sum
                    }
                }
            }
        }
        return out
    }

    static func gelu(_ x: [Double]) -> [Double] { x.map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) } }

    /// Packed SwiGLU, gate = first half.
    static func swiGLU(_ x: [Double], rows: Int, hidden: Int) -> [Double] {
        var y = [Double](repeating: 0, count: rows * hidden)
        for r in 0..<rows {
            for j in 0..<hidden {
                let a = x[r * 2 * hidden + j], b = x[r * 2 * hidden + hidden + j]
                y[r * hidden + j] = a / (1 + Foundation.exp(-a)) * b
            }
        }
        return y
    }

    /// `residual + gamma ⊙ branch` (plain sum without gamma).
    static func layerScaleResidual(_ residual: [Double], _ branch: [Double], _ gamma: [Double]?, rows: Int, dim: Int) -> [Double] {
        (0..<(rows * dim)).map { residual[$0] + (gamma?[$0 % dim] ?? 1) * branch[$0] }
    }

    /// `Conv2d(C, D, p, p)` on `[B, C, H, W]` → `[B, N, D]`.
    static func patchEmbed(_ images: [Double], _ w: [Double], _ b: [Double], batch: Int, channels: Int, height: Int,
                           width: Int, patch: Int, dim: Int) -> [Double] {
        let columns = width / patch, patches = (height / patch) * columns
        var y = [Double](repeating: 0, count: batch * patches * dim)
        for image in 0..<batch {
            for n in 0..<patches {
                let row = n / columns, column = n % columns
                for o in 0..<dim {
                    var sum = b[o]
                    for c in 0..<channels {
                        for i in 0..<patch {
                            for j in 0..<patch {
                                sum += w[((o * channels + c) * patch + i) * patch + j]
                                    * images[((image * channels + c) * height + row * patch + i) * width + column * patch + j]
                            }
                        }
                    }
                    y[(image * patches + n) * dim + o] = sum
                }
            }
        }
        return y
    }

    /// Bicubic grid resize with the (constant) weight matrices of `BicubicResize`: along W, then H.
    static func resizeGrid(_ x: [Double], inputHeight: Int, inputWidth: Int, outputHeight: Int, outputWidth: Int, dim: Int,
                           rows: BicubicResize, columns: BicubicResize) -> [Double] {
        let cw = columns.weights(inputSize: inputWidth, outputSize: outputWidth).map(Double.init)
        let rw = rows.weights(inputSize: inputHeight, outputSize: outputHeight).map(Double.init)
        var y = [Double](repeating: 0, count: outputHeight * outputWidth * dim)
        for r in 0..<outputHeight {
            for c in 0..<outputWidth {
                for sr in 0..<inputHeight {
                    for sc in 0..<inputWidth {
                        let weight = rw[r * inputHeight + sr] * cw[c * inputWidth + sc]
                        for d in 0..<dim { y[(r * outputWidth + c) * dim + d] += weight * x[(sr * inputWidth + sc) * dim + d] }
                    }
                }
            }
        }
        return y
    }

    /// `[cls, registers…, patches + positions]` per image.
    static func assembleTokens(_ patchTokens: [Double], cls: [Double], registers: [Double], positions: [Double], batch: Int,
                               patches: Int, registerCount: Int, dim: Int) -> [Double] {
        var y: [Double] = []
        for image in 0..<batch {
            y += cls
            y += registers.prefix(registerCount * dim)
            for n in 0..<patches {
                for d in 0..<dim { y.append(patchTokens[(image * patches + n) * dim + d] + positions[n * dim + d]) }
            }
        }
        return y
    }

    /// Tokens `first ..< first + count` of each image.
    static func selectTokens(_ x: [Double], batch: Int, length: Int, first: Int, count: Int, dim: Int) -> [Double] {
        var y: [Double] = []
        for image in 0..<batch {
            let start = (image * length + first) * dim
            y += x[start..<(start + count * dim)]
        }
        return y
    }

    /// `x / max(‖x‖, eps)` per row.
    static func l2Normalize(_ x: [Double], rows: Int, dim: Int, eps: Double) -> [Double] {
        var y = x
        for r in 0..<rows {
            var sum = 0.0
            for d in 0..<dim { sum += x[r * dim + d] * x[r * dim + d] }
            let norm = max(sum.squareRoot(), eps)
            for d in 0..<dim { y[r * dim + d] = x[r * dim + d] / norm }
        }
        return y
    }

    /// `g[k]·v[k]/‖v[k]‖` per row.
    static func weightNorm(_ v: [Double], _ g: [Double], rows: Int, columns: Int) -> [Double] {
        var w = v
        for k in 0..<rows {
            var sum = 0.0
            for c in 0..<columns { sum += v[k * columns + c] * v[k * columns + c] }
            let norm = sum.squareRoot()
            for c in 0..<columns { w[k * columns + c] = g[k] * v[k * columns + c] / norm }
        }
        return w
    }
}
