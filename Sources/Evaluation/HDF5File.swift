import CHDF5
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A thin wrapper over the libhdf5 C API (1.10, serial build) for the few operations feature files need:
/// 1-D and 2-D datasets of float32, float64, int64 and strings, and scalar attributes.
///
/// The serial libhdf5 is not thread-safe: every use must run inside `HDF5File.serialized`.
final class HDF5File {
    /// An attribute value as HDF5 stores it (h5py writes Python ints as int64, floats as float64,
    /// strings as variable-length UTF-8).
    enum Attribute: Equatable {
        case integer(Int64)
        case real(Double)
        case string(String)
    }

    /// What a dataset holds, before reading it.
    struct DatasetInfo {
        let dimensions: [Int]
        let typeClass: H5T_class_t
        let elementSize: Int
    }

    let path: String
    private let id: hid_t

    private static let lock = Mutex<Void>(())

    /// Runs `body` holding the process-wide libhdf5 lock, with HDF5's own error printing off (the setting
    /// is per thread in thread-safe builds, so it is made on every call).
    static func serialized<R>(_ body: () throws(FeatureFileError) -> R) throws(FeatureFileError) -> R {
        let result: Result<R, FeatureFileError> = lock.withLock { _ in
            chdf5_silence_errors()
            do throws(FeatureFileError) {
                return .success(try body())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private init(path: String, id: hid_t) {
        self.path = path
        self.id = id
    }

    /// Opens an existing file read-only.
    static func open(_ path: String) throws(FeatureFileError) -> HDF5File {
        guard access(path, R_OK) == 0 else {
            throw FeatureFileError(path: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        guard H5Fis_hdf5(path) > 0 else { throw FeatureFileError(path: path, "not an HDF5 file (or unreadable)") }
        let id = H5Fopen(path, chdf5_f_acc_rdonly(), chdf5_p_default())
        guard id >= 0 else { throw FeatureFileError(path: path, "H5Fopen failed") }
        return HDF5File(path: path, id: id)
    }

    /// Creates (truncates) a file for writing.
    static func create(_ path: String) throws(FeatureFileError) -> HDF5File {
        let id = H5Fcreate(path, chdf5_f_acc_trunc(), chdf5_p_default(), chdf5_p_default())
        guard id >= 0 else { throw FeatureFileError(path: path, "H5Fcreate failed") }
        return HDF5File(path: path, id: id)
    }

    /// Flushes and closes the file.
    func close() throws(FeatureFileError) {
        guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0, H5Fclose(id) >= 0 else {
            throw FeatureFileError(path: path, "H5Fclose failed")
        }
    }

    /// Closes without reporting errors (reading paths, error paths).
    func closeQuietly() { _ = H5Fclose(id) }

    /// Whether a dataset (or any link) `name` exists at the root.
    func exists(_ name: String) -> Bool { H5Lexists(id, name, chdf5_p_default()) > 0 }

    // MARK: - Reading

    /// The dimensions and element type of dataset `name`.
    func info(_ name: String) throws(FeatureFileError) -> DatasetInfo {
        try withDataset(name) { dataset throws(FeatureFileError) in
            let space = H5Dget_space(dataset)
            defer { H5Sclose(space) }
            let rank = Int(H5Sget_simple_extent_ndims(space))
            guard rank >= 0 else { throw FeatureFileError(path: path, "dataset '\(name)': unreadable dataspace") }
            var dims = [hsize_t](repeating: 0, count: max(rank, 1))
            H5Sget_simple_extent_dims(space, &dims, nil)
            let type = H5Dget_type(dataset)
            defer { H5Tclose(type) }
            return DatasetInfo(dimensions: dims.prefix(rank).map { Int($0) }, typeClass: H5Tget_class(type),
                               elementSize: H5Tget_size(type))
        }
    }

    /// The whole dataset `name` converted to float32 (HDF5 converts any float or integer type).
    func readFloats(_ name: String) throws(FeatureFileError) -> [Float] {
        try readNumbers(name, memoryType: chdf5_native_float(), zero: Float(0))
    }

    /// The whole dataset `name` converted to int64 (integer datasets only).
    func readIntegers(_ name: String) throws(FeatureFileError) -> [Int64] {
        let description = try info(name)
        guard description.typeClass == H5T_INTEGER else {
            throw FeatureFileError(path: path, "dataset '\(name)': expected integers")
        }
        return try readNumbers(name, memoryType: chdf5_native_int64(), zero: Int64(0))
    }

    private func readNumbers<T>(_ name: String, memoryType: hid_t, zero: T) throws(FeatureFileError) -> [T] {
        let description = try info(name)
        guard description.typeClass == H5T_FLOAT || description.typeClass == H5T_INTEGER else {
            throw FeatureFileError(path: path, "dataset '\(name)': expected numbers, found HDF5 type class "
                + "\(description.typeClass.rawValue)")
        }
        var values = [T](repeating: zero, count: description.dimensions.reduce(1, *))
        if values.isEmpty { return values }  // TRIDENT writes [0, D] features for slides without tissue
        try withDataset(name) { dataset throws(FeatureFileError) in
            let status = values.withUnsafeMutableBytes {
                H5Dread(dataset, memoryType, chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), $0.baseAddress)
            }
            guard status >= 0 else { throw FeatureFileError(path: path, "dataset '\(name)': H5Dread failed") }
        }
        return values
    }

    /// A 1-D dataset of strings (fixed-length or variable-length, as h5py writes `str` arrays).
    func readStrings(_ name: String) throws(FeatureFileError) -> [String] {
        let description = try info(name)
        guard description.typeClass == H5T_STRING, description.dimensions.count == 1 else {
            throw FeatureFileError(path: path, "dataset '\(name)': expected a 1-D array of strings")
        }
        let count = description.dimensions[0]
        return try withDataset(name) { dataset throws(FeatureFileError) in
            let fileType = H5Dget_type(dataset)
            defer { H5Tclose(fileType) }
            let memoryType = H5Tcopy(chdf5_c_s1())
            defer { H5Tclose(memoryType) }
            H5Tset_cset(memoryType, H5Tget_cset(fileType))  // HDF5 does not convert between ASCII and UTF-8
            if H5Tis_variable_str(fileType) > 0 {
                H5Tset_size(memoryType, chdf5_variable())
                var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
                let status = pointers.withUnsafeMutableBytes {
                    H5Dread(dataset, memoryType, chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), $0.baseAddress)
                }
                guard status >= 0 else { throw FeatureFileError(path: path, "dataset '\(name)': H5Dread failed") }
                defer { for pointer in pointers { H5free_memory(pointer) } }
                return pointers.map { $0.map { String(cString: $0) } ?? "" }
            }
            // One byte more than the stored width: a null-padded (numpy "S") string may fill it completely,
            // and a null-terminated memory type of the same width would drop its last character.
            let size = description.elementSize + 1
            H5Tset_size(memoryType, size)
            var buffer = [UInt8](repeating: 0, count: count * size)
            let status = buffer.withUnsafeMutableBytes {
                H5Dread(dataset, memoryType, chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), $0.baseAddress)
            }
            guard status >= 0 else { throw FeatureFileError(path: path, "dataset '\(name)': H5Dread failed") }
            return (0 ..< count).map { i in
                let field = buffer[i * size ..< (i + 1) * size]
                return String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
    }

    /// Scalar attribute `attribute` of dataset `name`, or nil when absent.
    func readAttribute(_ attribute: String, of name: String) throws(FeatureFileError) -> Attribute? {
        try withDataset(name) { dataset throws(FeatureFileError) -> Attribute? in
            guard H5Aexists(dataset, attribute) > 0 else { return nil }
            let handle = H5Aopen(dataset, attribute, chdf5_p_default())
            guard handle >= 0 else { throw FeatureFileError(path: path, "attribute '\(name).\(attribute)': H5Aopen failed") }
            defer { H5Aclose(handle) }
            let space = H5Aget_space(handle)
            let elements = H5Sget_simple_extent_npoints(space)
            H5Sclose(space)
            guard elements == 1 else {
                throw FeatureFileError(path: path, "attribute '\(name).\(attribute)': expected one value, found \(elements)")
            }
            let type = H5Aget_type(handle)
            defer { H5Tclose(type) }
            switch H5Tget_class(type) {
            case H5T_INTEGER:
                var value: Int64 = 0
                guard H5Aread(handle, chdf5_native_int64(), &value) >= 0 else {
                    throw FeatureFileError(path: path, "attribute '\(name).\(attribute)': H5Aread failed")
                }
                return .integer(value)
            case H5T_FLOAT:
                var value: Double = 0
                guard H5Aread(handle, chdf5_native_double(), &value) >= 0 else {
                    throw FeatureFileError(path: path, "attribute '\(name).\(attribute)': H5Aread failed")
                }
                return .real(value)
            case H5T_STRING:
                let memoryType = H5Tcopy(chdf5_c_s1())
                defer { H5Tclose(memoryType) }
                H5Tset_cset(memoryType, H5Tget_cset(type))
                if H5Tis_variable_str(type) > 0 {
                    H5Tset_size(memoryType, chdf5_variable())
                    var pointer: UnsafeMutablePointer<CChar>? = nil
                    guard H5Aread(handle, memoryType, &pointer) >= 0 else {
                        throw FeatureFileError(path: path, "attribute '\(name).\(attribute)': H5Aread failed")
                    }
                    defer { H5free_memory(pointer) }
                    return .string(pointer.map { String(cString: $0) } ?? "")
                }
                let size = H5Tget_size(type) + 1  // room for the terminator (see readStrings)
                H5Tset_size(memoryType, size)
                var buffer = [UInt8](repeating: 0, count: size)
                guard buffer.withUnsafeMutableBytes({ H5Aread(handle, memoryType, $0.baseAddress) }) >= 0 else {
                    throw FeatureFileError(path: path, "attribute '\(name).\(attribute)': H5Aread failed")
                }
                return .string(String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self))
            default:
                throw FeatureFileError(path: path, "attribute '\(name).\(attribute)': unsupported type")
            }
        }
    }

    private func withDataset<R>(_ name: String, _ body: (hid_t) throws(FeatureFileError) -> R) throws(FeatureFileError) -> R {
        guard exists(name) else { throw FeatureFileError(path: path, "no dataset '\(name)'") }
        let dataset = H5Dopen2(id, name, chdf5_p_default())
        guard dataset >= 0 else { throw FeatureFileError(path: path, "dataset '\(name)': H5Dopen failed") }
        defer { H5Dclose(dataset) }
        return try body(dataset)
    }

    // MARK: - Writing

    /// Writes a float32 dataset of `dimensions` from `values` (C order).
    func writeFloats(_ name: String, dimensions: [Int], values: [Float]) throws(FeatureFileError) {
        try create(name, dimensions: dimensions, fileType: chdf5_ieee_f32le()) { dataset in
            values.withUnsafeBytes {
                H5Dwrite(dataset, chdf5_native_float(), chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), $0.baseAddress)
            }
        }
    }

    /// Writes an int64 dataset of `dimensions` from `values` (C order).
    func writeIntegers(_ name: String, dimensions: [Int], values: [Int64]) throws(FeatureFileError) {
        try create(name, dimensions: dimensions, fileType: chdf5_std_i64le()) { dataset in
            values.withUnsafeBytes {
                H5Dwrite(dataset, chdf5_native_int64(), chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), $0.baseAddress)
            }
        }
    }

    /// Writes a 1-D dataset of variable-length UTF-8 strings (what h5py writes for `str` arrays).
    func writeStrings(_ name: String, values: [String]) throws(FeatureFileError) {
        let type = H5Tcopy(chdf5_c_s1())
        defer { H5Tclose(type) }
        H5Tset_size(type, chdf5_variable())
        H5Tset_cset(type, H5T_CSET_UTF8)
        let copies = values.map { strdup($0) }
        defer { for copy in copies { free(copy) } }
        try create(name, dimensions: [values.count], fileType: type) { dataset in
            copies.withUnsafeBytes {
                H5Dwrite(dataset, type, chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), $0.baseAddress)
            }
        }
    }

    private func create(_ name: String, dimensions: [Int], fileType: hid_t,
                        write: (hid_t) -> herr_t) throws(FeatureFileError) {
        let dims = dimensions.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), dims, nil)
        guard space >= 0 else { throw FeatureFileError(path: path, "dataset '\(name)': H5Screate failed") }
        defer { H5Sclose(space) }
        let dataset = H5Dcreate2(id, name, fileType, space, chdf5_p_default(), chdf5_p_default(), chdf5_p_default())
        guard dataset >= 0 else { throw FeatureFileError(path: path, "dataset '\(name)': H5Dcreate failed") }
        defer { H5Dclose(dataset) }
        if dimensions.contains(0) { return }  // nothing to write; the dataset keeps its empty shape
        guard write(dataset) >= 0 else { throw FeatureFileError(path: path, "dataset '\(name)': H5Dwrite failed") }
    }

    /// Writes scalar attribute `attribute` on dataset `name`.
    func writeAttribute(_ attribute: String, of name: String, _ value: Attribute) throws(FeatureFileError) {
        try withDataset(name) { dataset throws(FeatureFileError) in
            let space = H5Screate(H5S_SCALAR)
            defer { H5Sclose(space) }
            let type: hid_t
            switch value {
            case .integer: type = H5Tcopy(chdf5_std_i64le())
            case .real: type = H5Tcopy(chdf5_ieee_f64le())
            case .string:
                type = H5Tcopy(chdf5_c_s1())
                H5Tset_size(type, chdf5_variable())
                H5Tset_cset(type, H5T_CSET_UTF8)
            }
            defer { H5Tclose(type) }
            let handle = H5Acreate2(dataset, attribute, type, space, chdf5_p_default(), chdf5_p_default())
            guard handle >= 0 else { throw FeatureFileError(path: path, "attribute '\(name).\(attribute)': H5Acreate failed") }
            defer { H5Aclose(handle) }
            let status: herr_t
            switch value {
            case .integer(var number): status = H5Awrite(handle, chdf5_native_int64(), &number)
            case .real(var number): status = H5Awrite(handle, chdf5_native_double(), &number)
            case .string(let text):
                var copy: UnsafeMutablePointer<CChar>? = strdup(text)
                defer { free(copy) }
                status = H5Awrite(handle, type, &copy)
            }
            guard status >= 0 else { throw FeatureFileError(path: path, "attribute '\(name).\(attribute)': H5Awrite failed") }
        }
    }
}
