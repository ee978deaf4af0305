/// An array in NumPy's `.npy` format (format versions 1.0–3.0: magic `\x93NUMPY`, a little-endian header
/// length, a Python-literal header `{'descr': …, 'fortran_order': …, 'shape': (…)}`, then the raw data).
/// Reference: numpy/lib/format.py (NEP 1).
///
/// Values are kept as little-endian bytes in C (row-major) order; big-endian and Fortran-order files are
/// converted on reading. plismbench stores per-slide features this way (`features.npy`, float32,
/// [16278, 3 + D]) and its tile subsets (`tiles_subset_N.npy`, int64, [N]).
public struct NPYArray: Sendable, Equatable {
    /// The element types read and written (`descr` without the byte-order character).
    public enum Element: String, Sendable, CaseIterable {
        /// IEEE half precision, `f2` (read only as a source of Float values).
        case float16 = "f2"
        /// IEEE single precision, `f4`.
        case float32 = "f4"
        /// IEEE double precision, `f8`.
        case float64 = "f8"
        /// Signed 32-bit integers, `i4`.
        case int32 = "i4"
        /// Signed 64-bit integers, `i8`.
        case int64 = "i8"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .float16: 2
            case .float32, .int32: 4
            case .float64, .int64: 8
            }
        }
    }

    /// The shape; `[]` is a scalar (one element).
    public let shape: [Int]
    /// The element type.
    public let element: Element
    /// The data: `count · element.size` little-endian bytes in C order.
    public let bytes: [UInt8]

    /// Number of elements (the product of `shape`).
    public var count: Int { shape.reduce(1, *) }

    /// An array over raw little-endian C-order `bytes`.
    /// - Precondition: `bytes.count == shape.product · element.size`.
    public init(shape: [Int], element: Element, bytes: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 } && bytes.count == shape.reduce(1, *) * element.size,
                     "NPYArray: \(bytes.count) bytes for shape \(shape) of \(element)")
        self.shape = shape
        self.element = element
        self.bytes = bytes
    }

    /// A float32 array of `values` (C order) with `shape`.
    public init(float32 values: [Float], shape: [Int]) {
        self.init(shape: shape, element: .float32, bytes: NPYArray.littleEndianBytes(values.map(\.bitPattern)))
    }

    /// A float64 array of `values` (C order) with `shape`.
    public init(float64 values: [Double], shape: [Int]) {
        self.init(shape: shape, element: .float64, bytes: NPYArray.littleEndianBytes(values.map(\.bitPattern)))
    }

    /// An int64 array of `values` (C order) with `shape`.
    public init(int64 values: [Int64], shape: [Int]) {
        self.init(shape: shape, element: .int64, bytes: NPYArray.littleEndianBytes(values.map { UInt64(bitPattern: $0) }))
    }

    /// The elements as Float (float64 and integers rounded to nearest, float16 widened exactly).
    public func floatValues() -> [Float] {
        switch element {
        case .float32: return words(UInt32.self).map { Float(bitPattern: $0) }
        default: return doubleValues().map { Float($0) }
        }
    }

    /// The elements as Double (exact for every element type except int64 beyond 2⁵³).
    public func doubleValues() -> [Double] {
        switch element {
        case .float16: return words(UInt16.self).map { Double(NPYArray.halfToFloat($0)) }
        case .float32: return words(UInt32.self).map { Double(Float(bitPattern: $0)) }
        case .float64: return words(UInt64.self).map { Double(bitPattern: $0) }
        case .int32: return words(UInt32.self).map { Double(Int32(bitPattern: $0)) }
        case .int64: return words(UInt64.self).map { Double(Int64(bitPattern: $0)) }
        }
    }

    /// The elements as Int64.
    /// - Throws: `FeatureFileError` (with `path` as the file name) if the array holds floating-point values.
    public func integerValues(path: String) throws(FeatureFileError) -> [Int64] {
        switch element {
        case .int32: return words(UInt32.self).map { Int64(Int32(bitPattern: $0)) }
        case .int64: return words(UInt64.self).map { Int64(bitPattern: $0) }
        default: throw FeatureFileError(path: path, "expected an integer array, found dtype \(element.rawValue)")
        }
    }

    // MARK: - Reading and writing

    /// Reads an `.npy` file.
    /// - Throws: `FeatureFileError` naming the file and what is wrong (magic, header key, dtype, size).
    public static func read(path: String) throws(FeatureFileError) -> NPYArray {
        try decode(AtomicFile.read(path), path: path)
    }

    /// Decodes the bytes of an `.npy` file; `path` names it in errors.
    /// - Throws: `FeatureFileError` naming what is wrong.
    public static func decode(_ file: [UInt8], path: String) throws(FeatureFileError) -> NPYArray {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard file.count >= 10, Array(file[0 ..< 6]) == magic else {
            throw FeatureFileError(path: path, "not a .npy file (no \\x93NUMPY magic)")
        }
        let major = file[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(file[8]) | Int(file[9]) << 8
            headerStart = 10
        case 2, 3:
            guard file.count >= 12 else { throw FeatureFileError(path: path, "truncated .npy header") }
            headerLength = Int(file[8]) | Int(file[9]) << 8 | Int(file[10]) << 16 | Int(file[11]) << 24
            headerStart = 12
        default:
            throw FeatureFileError(path: path, "unsupported .npy format version \(major).\(file[7])")
        }
        guard file.count >= headerStart + headerLength else {
            throw FeatureFileError(path: path, "truncated .npy header (\(headerLength) bytes announced)")
        }
        let header = String(decoding: file[headerStart ..< headerStart + headerLength], as: UTF8.self)
        let fields: [String: PythonLiteral]
        do {
            fields = try PythonLiteral.parseDictionary(header)
        } catch {
            throw FeatureFileError(path: path, "unreadable .npy header \(header.debugDescription): \(error.message)")
        }
        guard case .string(let descr)? = fields["descr"] else {
            throw FeatureFileError(path: path, "the .npy header has no 'descr' string")
        }
        guard case .bool(let fortranOrder)? = fields["fortran_order"] else {
            throw FeatureFileError(path: path, "the .npy header has no 'fortran_order' boolean")
        }
        guard case .tuple(let shape)? = fields["shape"], shape.allSatisfy({ $0 >= 0 }) else {
            throw FeatureFileError(path: path, "the .npy header has no 'shape' tuple of sizes")
        }
        guard descr.count == 3, let order = descr.first, "<>|=".contains(order),
              let element = Element(rawValue: String(descr.dropFirst()))
        else {
            throw FeatureFileError(path: path, "unsupported dtype '\(descr)' (supported: f2, f4, f8, i4, i8)")
        }
        let count = shape.reduce(1, *)
        let dataStart = headerStart + headerLength
        guard file.count - dataStart == count * element.size else {
            throw FeatureFileError(path: path, "data holds \(file.count - dataStart) bytes; shape \(shape) of '\(descr)' "
                + "needs \(count * element.size)")
        }
        var data = Array(file[dataStart...])
        if order == ">" && element.size > 1 {
            for start in stride(from: 0, to: data.count, by: element.size) {
                data[start ..< start + element.size].reverse()
            }
        }
        if fortranOrder && shape.count > 1 {
            data = cOrder(fromFortran: data, shape: shape, elementSize: element.size)
        }
        return NPYArray(shape: shape, element: element, bytes: data)
    }

    /// The `.npy` bytes (format 1.0, little-endian, C order; the header padded with spaces and a newline
    /// so the data starts at a multiple of 64 bytes, as numpy writes it).
    public func encoded() -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<\(element.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var file: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
        let length = header.utf8.count
        file += [UInt8(length & 0xFF), UInt8(length >> 8)]
        file += Array(header.utf8)
        file += bytes
        return file
    }

    /// Writes the array to `path` atomically (temporary name, fsync, rename).
    /// - Throws: `FeatureFileError` naming the system call that failed.
    public func write(to path: String) throws(FeatureFileError) {
        try AtomicFile.write(encoded(), to: path)
    }

    // MARK: - Helpers

    private func words<Word: FixedWidthInteger & UnsignedInteger>(_: Word.Type) -> [Word] {
        let size = MemoryLayout<Word>.size
        return bytes.withUnsafeBytes { raw in
            (0 ..< raw.count / size).map { Word(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * size, as: Word.self)) }
        }
    }

    private static func littleEndianBytes<Word: FixedWidthInteger>(_ words: [Word]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(words.count * MemoryLayout<Word>.size)
        for word in words {
            withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    private static func cOrder(fromFortran data: [UInt8], shape: [Int], elementSize: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: data.count)
        let count = shape.reduce(1, *)
        var index = [Int](repeating: 0, count: shape.count)
        for cPosition in 0 ..< count {
            var fortranPosition = 0
            var stride = 1
            for axis in 0 ..< shape.count {
                fortranPosition += index[axis] * stride
                stride *= shape[axis]
            }
            for byte in 0 ..< elementSize {
                result[cPosition * elementSize + byte] = data[fortranPosition * elementSize + byte]
            }
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return result
    }

    /// IEEE binary16 → binary32, exact (subnormals, infinities and NaN included).
    static func halfToFloat(_ half: UInt16) -> Float {
        let sign = UInt32(half & 0x8000) << 16
        let exponent = Int(half >> 10) & 0x1F
        let mantissa = UInt32(half & 0x3FF)
        if exponent == 0 {
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 31 {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }
}

/// The subset of Python literals an `.npy` header uses: strings, booleans and tuples of integers.
enum PythonLiteral: Equatable {
    case string(String)
    case bool(Bool)
    case tuple([Int])

    struct ParseError: Error { let message: String }

    /// Parses `{'key': value, …}` (trailing commas and whitespace allowed).
    static func parseDictionary(_ text: String) throws(ParseError) -> [String: PythonLiteral] {
        var scanner = Scanner(Array(text.unicodeScalars))
        var result = [String: PythonLiteral]()
        scanner.skipSpace()
        try scanner.expect("{")
        while true {
            scanner.skipSpace()
            if scanner.consume("}") { break }
            let key = try scanner.string()
            scanner.skipSpace()
            try scanner.expect(":")
            scanner.skipSpace()
            result[key] = try scanner.value()
            scanner.skipSpace()
            if scanner.consume(",") { continue }
            try scanner.expect("}")
            break
        }
        return result
    }

    private struct Scanner {
        let scalars: [Unicode.Scalar]
        var position = 0
        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var peek: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

        mutating func skipSpace() {
            while let c = peek, c == " " || c == "\n" || c == "\t" || c == "\r" { position += 1 }
        }

        mutating func consume(_ c: Unicode.Scalar) -> Bool {
            if peek == c { position += 1; return true }
            return false
        }

        mutating func expect(_ c: Unicode.Scalar) throws(ParseError) {
            guard consume(c) else { throw ParseError(message: "expected '\(c)' at offset \(position)") }
        }

        mutating func string() throws(ParseError) -> String {
            guard let quote = peek, quote == "'" || quote == "\"" else {
                throw ParseError(message: "expected a string at offset \(position)")
            }
            position += 1
            var text = String.UnicodeScalarView()
            while let c = peek, c != quote {
                text.append(c)
                position += 1
            }
            try expect(quote)
            return String(text)
        }

        mutating func integer() throws(ParseError) -> Int {
            var digits = ""
            while let c = peek, ("0" ... "9").contains(c) || c == "L" {
                if c != "L" { digits.unicodeScalars.append(c) }
                position += 1
            }
            guard let value = Int(digits) else { throw ParseError(message: "expected an integer at offset \(position)") }
            return value
        }

        mutating func value() throws(ParseError) -> PythonLiteral {
            switch peek {
            case "'", "\"":
                return .string(try string())
            case "(":
                position += 1
                var items = [Int]()
                while true {
                    skipSpace()
                    if consume(")") { break }
                    items.append(try integer())
                    skipSpace()
                    if consume(",") { continue }
                    try expect(")")
                    break
                }
                return .tuple(items)
            default:
                for (word, value) in [("True", true), ("False", false)] {
                    let wordScalars = Array(word.unicodeScalars)
                    if position + wordScalars.count <= scalars.count,
                       Array(scalars[position ..< position + wordScalars.count]) == wordScalars {
                        position += wordScalars.count
                        return .bool(value)
                    }
                }
                throw ParseError(message: "unexpected value at offset \(position)")
            }
        }
    }
}
