import CZstd
#if canImport(Glibc)
import Glibc
#endif

/// `ZSTD_c_literalCompressionMode` (an experimental zstd parameter, stable in value since 1.4.5).
private let literalCompressionMode = ZSTD_cParameter(rawValue: 1002)  // ZSTD_c_experimentalParam5
/// `ZSTD_ps_enable` / `ZSTD_ps_disable` (`ZSTD_lcm_huffman` / `ZSTD_lcm_uncompressed` before 1.5.1).
private let literalsEntropyCoded: Int32 = 1
private let literalsStored: Int32 = 2

/// zstd's name for an error code.
func zstdErrorName(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }

/// Compresses tiles into independent zstd frames with content size and XXH64 content checksum
/// (one compression context, reused; not thread-safe).
final class ZstdEncoder {
    private let context: OpaquePointer
    private var dictionary: OpaquePointer?
    private let compression: ShardCompression
    private var literalMode: Int32 = -1

    init(_ compression: ShardCompression, path: String) throws(ShardError) {
        try compression.validate(path: path)
        guard let context = ZSTD_createCCtx() else { throw .compression(path: path, reason: "cannot create a context") }
        self.context = context
        self.compression = compression
        for (parameter, value) in [(ZSTD_c_compressionLevel, compression.level), (ZSTD_c_checksumFlag, 1),
                                   (ZSTD_c_contentSizeFlag, 1), (ZSTD_c_dictIDFlag, 1)] {
            let result = ZSTD_CCtx_setParameter(context, parameter, value)
            if ZSTD_isError(result) != 0 {
                ZSTD_freeCCtx(context)
                throw .compression(path: path, reason: "setting parameter \(parameter.rawValue): \(zstdErrorName(result))")
            }
        }
        if let bytes = compression.dictionary?.bytes {
            dictionary = bytes.withUnsafeBytes { ZSTD_createCDict($0.baseAddress, $0.count, compression.level) }
            guard let dictionary, ZSTD_isError(ZSTD_CCtx_refCDict(context, dictionary)) == 0 else {
                if let dictionary { ZSTD_freeCDict(dictionary) }
                ZSTD_freeCCtx(context)
                throw .compression(path: path, reason: "cannot load the dictionary")
            }
        }
    }

    deinit {
        ZSTD_freeCCtx(context)
        if let dictionary { ZSTD_freeCDict(dictionary) }
    }

    /// Upper bound of a frame's size for `rawBytes` bytes of input.
    static func bound(_ rawBytes: Int) -> Int { ZSTD_compressBound(rawBytes) }

    /// Compresses `source` into `destination` (at least `bound(source.count)` bytes); returns the frame size.
    func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer,
                  path: String) throws(ShardError) -> Int {
        let mode = Self.promisedSaving(source) >= compression.minimumEntropySaving ? literalsEntropyCoded : literalsStored
        if mode != literalMode {
            // Ignored by a zstd that lacks the parameter: frames are then plain zstd, still valid.
            _ = ZSTD_CCtx_setParameter(context, literalCompressionMode, mode)
            literalMode = mode
        }
        let result = ZSTD_compress2(context, destination.baseAddress, destination.count, source.baseAddress, source.count)
        if ZSTD_isError(result) != 0 { throw .compression(path: path, reason: zstdErrorName(result)) }
        return result
    }

    /// 1 − H/8, where H is the order-0 entropy of `bytes` in bits per byte: the saving Huffman coding of
    /// literals could bring at best (0 for uniform noise, near 1 for a flat colour).
    static func promisedSaving(_ bytes: UnsafeRawBufferPointer) -> Double {
        guard !bytes.isEmpty else { return 1 }
        var counts = [Int](repeating: 0, count: 4 * 256)
        counts.withUnsafeMutableBufferPointer { table in
            let n = bytes.count
            var i = 0
            while i + 4 <= n {
                table[Int(bytes[i])] &+= 1
                table[256 + Int(bytes[i + 1])] &+= 1
                table[512 + Int(bytes[i + 2])] &+= 1
                table[768 + Int(bytes[i + 3])] &+= 1
                i += 4
            }
            while i < n { table[Int(bytes[i])] &+= 1; i += 1 }
        }
        let total = Double(bytes.count)
        var entropy = 0.0
        for value in 0..<256 {
            let count = counts[value] + counts[256 + value] + counts[512 + value] + counts[768 + value]
            if count > 0 {
                let p = Double(count) / total
                entropy -= p * log2(p)
            }
        }
        return 1 - entropy / 8
    }
}

/// Decodes zstd frames (one decompression context, reused; not thread-safe). zstd checks each frame's
/// XXH64 content checksum while decoding.
final class ZstdDecoder {
    private let context: OpaquePointer
    private var dictionary: OpaquePointer?

    init(dictionary bytes: [UInt8]?, path: String) throws(ShardError) {
        guard let context = ZSTD_createDCtx() else { throw .compression(path: path, reason: "cannot create a context") }
        self.context = context
        if let bytes {
            dictionary = bytes.withUnsafeBytes { ZSTD_createDDict($0.baseAddress, $0.count) }
            if dictionary == nil {
                ZSTD_freeDCtx(context)
                throw .corrupt(path: path, section: .dictionary, reason: "zstd cannot load the dictionary")
            }
        }
    }

    deinit {
        ZSTD_freeDCtx(context)
        if let dictionary { ZSTD_freeDDict(dictionary) }
    }

    /// Decodes one frame into `destination`; returns the decoded byte count, or zstd's error message.
    func decompress(_ frame: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Result<Int, TileProblem> {
        let result: Int
        if let dictionary {
            result = ZSTD_decompress_usingDDict(context, destination.baseAddress, destination.count,
                                                frame.baseAddress, frame.count, dictionary)
        } else {
            result = ZSTD_decompressDCtx(context, destination.baseAddress, destination.count, frame.baseAddress, frame.count)
        }
        if ZSTD_isError(result) != 0 { return .failure(.decodeFailed(reason: zstdErrorName(result))) }
        return .success(result)
    }
}
