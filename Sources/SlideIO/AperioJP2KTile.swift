import COpenJPEG
import Foundation

/// One Aperio JPEG 2000 tile (TIFF compression 33003: YCbCr, or 33005: RGB) decoded with OpenJPEG to RGB8 as
/// OpenSlide 3.4.1 does it (`openslide-decode-jp2k.c`, `_openslide_jp2k_decode_buffer` and `unpack_argb`).
///
/// The tile is a raw J2K codestream of exactly `width × height` px with 3 components; a component of
/// width `cw` is subsampled by `width / cw` (integer division, as OpenSlide), likewise vertically. Samples
/// are truncated to 8 bits. YCbCr → RGB uses OpenSlide's integer tables (`make-tables.c`):
/// `R = Y + round(1.402 (Cr − 128))`, `G = Y + ((round(2¹⁶ (0.5 − 0.34414 (Cb − 128))) + round(2¹⁶ · −0.71414 (Cr − 128))) >> 16)`,
/// `B = Y + round(1.772 (Cb − 128))`, each clamped to 0…255.
enum AperioJP2KTile {
    /// The colour space the TIFF compression code names.
    enum ColorSpace: Sendable {
        /// 33003: Y, Cb, Cr (Cb and Cr usually at half the horizontal resolution).
        case yCbCr
        /// 33005: R, G, B.
        case rgb
    }

    /// OpenSlide's fixed-point YCbCr tables, computed with the same double expressions as `make-tables.c`
    /// (`round` is half away from zero, as C's).
    struct Tables: Sendable {
        let rFromCr: [Int32]
        let gFromCb: [Int32]
        let gFromCr: [Int32]
        let bFromCb: [Int32]

        init() {
            var r = [Int32](), gb = [Int32](), gr = [Int32](), b = [Int32]()
            for i in 0 ..< 256 {
                let centred = Double(i - 128)
                r.append(Int32((1.402 * centred).rounded()))
                gb.append(Int32((65536.0 * (0.5 - 0.34414 * centred)).rounded()))
                gr.append(Int32((65536.0 * -0.71414 * centred).rounded()))
                b.append(Int32((1.772 * centred).rounded()))
            }
            (rFromCr, gFromCb, gFromCr, bFromCb) = (r, gb, gr, b)
        }
    }

    static let tables = Tables()

    /// Decodes `data` into `rgb` (`width × height × 3` bytes, row-major).
    /// - Throws: ``AperioJP2KTile/DecodeError`` with OpenJPEG's message (prefixed "OpenJPEG error: ", as
    ///   OpenSlide words it), a size other than `width × height`, or a component count other than 3.
    static func decode(_ data: UnsafeRawBufferPointer, width: Int, height: Int, space: ColorSpace,
                       into rgb: UnsafeMutablePointer<UInt8>) throws {
        guard let base = data.baseAddress, data.count > 0 else { throw DecodeError(message: "empty JPEG 2000 tile") }
        let input = UnsafeMutablePointer<ReadState>.allocate(capacity: 1)
        input.initialize(to: ReadState(data: base, remaining: data.count))
        defer { input.deallocate() }
        let messages = MessageBox()
        // As OpenSlide: a stream buffer of the whole tile, so OpenJPEG asks for all of it in one read.
        guard let stream = opj_stream_create(OPJ_SIZE_T(data.count), 1) else { throw DecodeError(message: "opj_stream_create failed") }
        defer { opj_stream_destroy(stream) }
        opj_stream_set_user_data(stream, input, nil)
        opj_stream_set_user_data_length(stream, OPJ_UINT64(data.count))
        opj_stream_set_read_function(stream) { buffer, count, user in
            let state = user!.assumingMemoryBound(to: ReadState.self)
            guard state.pointee.remaining == Int(count), let buffer else {
                state.pointee.remaining = 0
                return OPJ_SIZE_T.max
            }
            buffer.copyMemory(from: state.pointee.data, byteCount: Int(count))
            state.pointee.remaining = 0
            return count
        }
        guard let codec = opj_create_decompress(OPJ_CODEC_J2K) else { throw DecodeError(message: "opj_create_decompress failed") }
        defer { opj_destroy_codec(codec) }
        var parameters = opj_dparameters_t()
        opj_set_default_decoder_parameters(&parameters)
        opj_setup_decoder(codec, &parameters)
        let context = Unmanaged.passUnretained(messages).toOpaque()
        opj_set_warning_handler(codec, { _, _ in }, nil)
        opj_set_error_handler(codec, { message, client in
            guard let message, let client else { return }
            let box = Unmanaged<MessageBox>.fromOpaque(client).takeUnretainedValue()
            if box.first == nil {
                box.first = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }, context)
        var image: UnsafeMutablePointer<opj_image_t>?
        defer { opj_image_destroy(image) }
        try withExtendedLifetime(messages) {
            guard opj_read_header(stream, codec, &image) != 0, let header = image else {
                throw DecodeError(message: messages.first.map { "OpenJPEG error: \($0)" } ?? "opj_read_header() failed")
            }
            messages.first = nil
            guard header.pointee.x1 == OPJ_UINT32(width), header.pointee.y1 == OPJ_UINT32(height) else {
                throw DecodeError(message: "Dimensional mismatch reading JP2K, expected \(width)x\(height), got \(header.pointee.x1)x\(header.pointee.y1)")
            }
            guard header.pointee.numcomps == 3 else {
                throw DecodeError(message: "Expected 3 image components, found \(header.pointee.numcomps)")
            }
            guard opj_decode(codec, stream, header) != 0 else {
                throw DecodeError(message: messages.first.map { "OpenJPEG error: \($0)" } ?? "opj_decode() failed")
            }
        }
        guard let comps = image?.pointee.comps else { throw DecodeError(message: "OpenJPEG returned no components") }
        try unpack(comps, width: width, height: height, space: space, into: rgb)
    }

    /// `unpack_argb`: components to interleaved RGB8.
    private static func unpack(_ comps: UnsafeMutablePointer<opj_image_comp_t>, width: Int, height: Int, space: ColorSpace,
                               into rgb: UnsafeMutablePointer<UInt8>) throws {
        let planes = (0 ..< 3).map { comps[$0] }
        guard planes.allSatisfy({ $0.w > 0 && $0.h > 0 && Int($0.w) <= width && Int($0.h) <= height && $0.data != nil }) else {
            throw DecodeError(message: "JPEG 2000 components larger than the \(width)x\(height) tile")
        }
        let sx = planes.map { width / Int($0.w) }, sy = planes.map { height / Int($0.h) }
        let stride = planes.map { Int($0.w) }
        let c0 = planes[0].data!, c1 = planes[1].data!, c2 = planes[2].data!
        // Aperio's two layouts (full-resolution planes, or Cb/Cr at half width) take shifts; others divide.
        let shiftable = sy == [1, 1, 1] && sx.allSatisfy { $0 == 1 || $0 == 2 }
        let shift = sx.map { $0 == 2 ? 1 : 0 }
        let (s0, s1, s2) = (shift[0], shift[1], shift[2])
        let (d0, d1, d2) = (sx[0], sx[1], sx[2])
        let (e0, e1, e2) = (sy[0], sy[1], sy[2])
        let (w0, w1, w2) = (stride[0], stride[1], stride[2])
        tables.rFromCr.withUnsafeBufferPointer { rCr in
            tables.gFromCb.withUnsafeBufferPointer { gCb in
                tables.gFromCr.withUnsafeBufferPointer { gCr in
                    tables.bFromCb.withUnsafeBufferPointer { bCb in
                        var out = rgb
                        for y in 0 ..< height {
                            let row0 = c0 + (y / e0) * w0
                            let row1 = c1 + (y / e1) * w1
                            let row2 = c2 + (y / e2) * w2
                            for x in 0 ..< width {
                                let i0 = shiftable ? x &>> s0 : x / d0
                                let i1 = shiftable ? x &>> s1 : x / d1
                                let i2 = shiftable ? x &>> s2 : x / d2
                                let v0 = UInt8(truncatingIfNeeded: row0[i0])
                                let v1 = UInt8(truncatingIfNeeded: row1[i1])
                                let v2 = UInt8(truncatingIfNeeded: row2[i2])
                                switch space {
                                case .rgb:
                                    out[0] = v0; out[1] = v1; out[2] = v2
                                case .yCbCr:
                                    let luma = Int32(v0)
                                    let g = (gCb[Int(v1)] &+ gCr[Int(v2)]) &>> 16
                                    out[0] = clamp(luma &+ rCr[Int(v2)])
                                    out[1] = clamp(luma &+ g)
                                    out[2] = clamp(luma &+ bCb[Int(v1)])
                                }
                                out += 3
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func clamp(_ value: Int32) -> UInt8 { UInt8(truncatingIfNeeded: min(max(value, 0), 255)) }

    /// What OpenJPEG or the checks around it reported.
    struct DecodeError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    private struct ReadState {
        var data: UnsafeRawPointer
        var remaining: Int
    }

    private final class MessageBox {
        var first: String?
    }
}
