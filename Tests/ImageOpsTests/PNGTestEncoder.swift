import Foundation

/// A minimal PNG encoder for test fixtures, independent of libpng: one IDAT of zlib "stored" (uncompressed)
/// blocks, filter type 0 on every row, CRC-32 per chunk (ISO 3309 / PNG spec §5.5) and Adler-32 (RFC 1950).
/// It writes colour types and bit depths that `PNGImage.write` never produces (grey, palette + tRNS,
/// grey + alpha, RGBA, 16-bit), so the reader can be checked on them.
enum PNGTestEncoder {
    /// PNG colour types (PNG spec §11.2.2).
    enum ColorType: UInt8 {
        case gray = 0, rgb = 2, palette = 3, grayAlpha = 4, rgba = 6
    }

    /// Encodes raw scanline samples (without filter bytes; big-endian for 16-bit) as a PNG file.
    static func encode(width: Int, height: Int, bitDepth: UInt8, colorType: ColorType, samples: [UInt8],
                       palette: [(UInt8, UInt8, UInt8)] = [], transparency: [UInt8] = []) -> Data {
        let channels: Int = switch colorType {
        case .gray, .palette: 1
        case .grayAlpha: 2
        case .rgb: 3
        case .rgba: 4
        }
        let rowBytes = (width * channels * Int(bitDepth) + 7) / 8
        precondition(samples.count == rowBytes * height, "need \(rowBytes * height) sample bytes")
        var raw: [UInt8] = []
        for row in 0 ..< height {
            raw.append(0)  // filter: none
            raw.append(contentsOf: samples[row * rowBytes ..< (row + 1) * rowBytes])
        }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header: [UInt8] = []
        header += bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        header += [bitDepth, colorType.rawValue, 0, 0, 0]
        png += chunk("IHDR", header)
        if !palette.isEmpty { png += chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] }) }
        if !transparency.isEmpty { png += chunk("tRNS", transparency) }
        png += chunk("IDAT", zlibStored(raw))
        png += chunk("IEND", [])
        return png
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    static func chunk(_ type: String, _ body: [UInt8]) -> Data {
        let typeBytes = Array(type.utf8)
        return Data(bigEndian(UInt32(body.count)) + typeBytes + body + bigEndian(crc32(typeBytes + body)))
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0 ..< 8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }

    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65535, data.count - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            out.append(final)
            out += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            out += data[offset ..< offset + length]
            offset += length
        } while offset < data.count
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return out + bigEndian(b << 16 | a)
    }
}
