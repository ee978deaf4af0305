// cuBLASLt on the CPU: `D = α·op(A)·op(B) + β·C (+ bias per row of D)` in column-major terms, A/B/C/D f32 or bf16,
// fp32 compute (each operand widened to f32, OpenBLAS sgemm, one rounding to D's type), strided batches, the
// DEFAULT and BIAS epilogues. C is not read when β = 0, as cuBLAS. Operands outside a live device allocation fail
// with CUBLAS_STATUS_EXECUTION_FAILED and a message naming the operand.
#include "emulator.hpp"

#include <cmath>
#include <cstring>
#include <vector>

using namespace cudaemu;

extern "C" void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                            const float* b, int ldb, float beta, float* c, int ldc);

namespace {

enum Status : int {
    kBlasSuccess = 0,
    kBlasInvalidValue = 7,
    kBlasExecutionFailed = 13,
    kBlasNotSupported = 15,
};

enum DataType : int { kF32 = 0, kBF16 = 14 };

struct MatmulDesc {
    int compute_type, scale_type;
    int trans_a = 0, trans_b = 0;
    unsigned epilogue = 1;
    uint64_t bias = 0;
    int bias_type = -1;
};

struct Layout {
    int type;
    uint64_t rows, cols;
    int64_t ld;
    int order = 0;
    int batch = 1;
    int64_t stride = 0;
};

int handle_token;

size_t element_bytes(int type) { return type == kBF16 ? 2 : 4; }

float load(uint64_t base, int type, size_t index) {
    if (type == kBF16) {
        unsigned bits = (unsigned)((const unsigned short*)(uintptr_t)base)[index] << 16;
        float value;
        memcpy(&value, &bits, 4);
        return value;
    }
    return ((const float*)(uintptr_t)base)[index];
}

/// f32 → bf16 rounds to nearest even and quiets NaN, as the kernels' prelude and PyTorch.
void store(uint64_t base, int type, size_t index, float value) {
    if (type == kBF16) {
        unsigned bits;
        memcpy(&bits, &value, 4);
        unsigned short half = (bits & 0x7fffffffu) > 0x7f800000u ? (unsigned short)((bits >> 16) | 0x40u)
                                                                 : (unsigned short)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
        ((unsigned short*)(uintptr_t)base)[index] = half;
    } else {
        ((float*)(uintptr_t)base)[index] = value;
    }
}

bool supported(int type) { return type == kF32 || type == kBF16; }

/// Whether the batches of `layout` at `base` lie inside a device allocation.
bool in_device(const char* operand, uint64_t base, const Layout& layout) {
    const size_t span = (size_t)((layout.batch - 1) * layout.stride + layout.ld * (int64_t)(layout.cols - 1) + (int64_t)layout.rows);
    if (device_range_valid(base, span * element_bytes(layout.type))) return true;
    report("cublasLtMatmul: operand %s at 0x%llx (%llu×%llu, ld %lld, %d batches of stride %lld) is not inside one "
           "device allocation", operand, (unsigned long long)base, (unsigned long long)layout.rows,
           (unsigned long long)layout.cols, (long long)layout.ld, layout.batch, (long long)layout.stride);
    return false;
}

/// One batch's stored operand, widened to a dense column-major f32 matrix.
void widen(uint64_t base, const Layout& layout, int batch, std::vector<float>& out) {
    out.resize(layout.rows * layout.cols);
    const size_t offset = (size_t)(batch * layout.stride);
    for (uint64_t column = 0; column < layout.cols; column++)
        for (uint64_t row = 0; row < layout.rows; row++)
            out[row + column * layout.rows] = load(base, layout.type, offset + row + column * (size_t)layout.ld);
}

}  // namespace

extern "C" {

int cublasLtCreate(void** handle) {
    *handle = &handle_token;
    return kBlasSuccess;
}

int cublasLtDestroy(void*) { return kBlasSuccess; }

size_t cublasLtGetVersion() { return 130000; }

const char* cublasLtGetStatusName(int status) {
    switch (status) {
        case kBlasSuccess: return "CUBLAS_STATUS_SUCCESS";
        case kBlasInvalidValue: return "CUBLAS_STATUS_INVALID_VALUE";
        case kBlasExecutionFailed: return "CUBLAS_STATUS_EXECUTION_FAILED";
        case kBlasNotSupported: return "CUBLAS_STATUS_NOT_SUPPORTED";
        default: return "CUBLAS_STATUS_INTERNAL_ERROR";
    }
}

int cublasLtMatmulDescCreate(void** desc, int compute_type, int scale_type) {
    if (compute_type != 68 || scale_type != kF32) {  // CUBLAS_COMPUTE_32F, CUDA_R_32F
        report("cublasLtMatmulDescCreate: compute type %d, scale type %d not emulated (32F only)", compute_type, scale_type);
        return kBlasNotSupported;
    }
    *desc = new MatmulDesc{compute_type, scale_type};
    return kBlasSuccess;
}

int cublasLtMatmulDescDestroy(void* desc) {
    delete (MatmulDesc*)desc;
    return kBlasSuccess;
}

int cublasLtMatmulDescSetAttribute(void* handle, int attribute, const void* value, size_t bytes) {
    auto* desc = (MatmulDesc*)handle;
    switch (attribute) {
        case 3: memcpy(&desc->trans_a, value, 4); return kBlasSuccess;
        case 4: memcpy(&desc->trans_b, value, 4); return kBlasSuccess;
        case 7:
            memcpy(&desc->epilogue, value, 4);
            if (desc->epilogue != 1 && desc->epilogue != 4) {
                report("cublasLtMatmulDescSetAttribute: epilogue %u not emulated (DEFAULT and BIAS are)", desc->epilogue);
                return kBlasNotSupported;
            }
            return kBlasSuccess;
        case 8: memcpy(&desc->bias, value, bytes < 8 ? bytes : 8); return kBlasSuccess;
        case 26: memcpy(&desc->bias_type, value, 4); return supported(desc->bias_type) ? kBlasSuccess : kBlasNotSupported;
        default:
            report("cublasLtMatmulDescSetAttribute(%d): attribute not emulated", attribute);
            return kBlasNotSupported;
    }
}

int cublasLtMatrixLayoutCreate(void** layout, int type, uint64_t rows, uint64_t cols, int64_t ld) {
    if (!supported(type)) {
        report("cublasLtMatrixLayoutCreate: data type %d not emulated (CUDA_R_32F and CUDA_R_16BF are)", type);
        return kBlasNotSupported;
    }
    if (rows == 0 || cols == 0 || ld < (int64_t)rows) return kBlasInvalidValue;
    *layout = new Layout{type, rows, cols, ld};
    return kBlasSuccess;
}

int cublasLtMatrixLayoutDestroy(void* layout) {
    delete (Layout*)layout;
    return kBlasSuccess;
}

int cublasLtMatrixLayoutSetAttribute(void* handle, int attribute, const void* value, size_t) {
    auto* layout = (Layout*)handle;
    switch (attribute) {
        case 1:
            memcpy(&layout->order, value, 4);
            return layout->order == 0 ? kBlasSuccess : kBlasNotSupported;  // CUBLASLT_ORDER_COL only
        case 5: memcpy(&layout->batch, value, 4); return layout->batch > 0 ? kBlasSuccess : kBlasInvalidValue;
        case 6: memcpy(&layout->stride, value, 8); return kBlasSuccess;
        default:
            report("cublasLtMatrixLayoutSetAttribute(%d): attribute not emulated", attribute);
            return kBlasNotSupported;
    }
}

int cublasLtMatmulPreferenceCreate(void** preference) {
    *preference = new int(0);
    return kBlasSuccess;
}

int cublasLtMatmulPreferenceDestroy(void* preference) {
    delete (int*)preference;
    return kBlasSuccess;
}

int cublasLtMatmulPreferenceSetAttribute(void*, int, const void*, size_t) { return kBlasSuccess; }

/// One "algorithm" always (`cublasLtMatmulHeuristicResult_t`: 64-byte algo, workspaceSize 0, state success,
/// wavesCount 1), after the same shape checks as cublasLtMatmul.
int cublasLtMatmulAlgoGetHeuristic(void*, void* desc, void* a, void* b, void* c, void* d, void*, int requested,
                                   void* results, int* found) {
    auto* A = (Layout*)a;
    auto* B = (Layout*)b;
    auto* C = (Layout*)c;
    auto* D = (Layout*)d;
    auto* operation = (MatmulDesc*)desc;
    const uint64_t m = operation->trans_a ? A->cols : A->rows, k = operation->trans_a ? A->rows : A->cols;
    const uint64_t kb = operation->trans_b ? B->cols : B->rows, n = operation->trans_b ? B->rows : B->cols;
    if (requested < 1 || k != kb || D->rows != m || D->cols != n || C->rows != m || C->cols != n) {
        *found = 0;
        report("cublasLtMatmulAlgoGetHeuristic: op(A) %llu×%llu, op(B) %llu×%llu, D %llu×%llu do not multiply",
               (unsigned long long)m, (unsigned long long)k, (unsigned long long)kb, (unsigned long long)n,
               (unsigned long long)D->rows, (unsigned long long)D->cols);
        return kBlasInvalidValue;
    }
    memset(results, 0, 96);
    float waves = 1;
    memcpy((char*)results + 76, &waves, 4);
    *found = 1;
    return kBlasSuccess;
}

int cublasLtMatmul(void*, void* desc, const void* alpha_pointer, uint64_t a, void* a_layout, uint64_t b, void* b_layout,
                   const void* beta_pointer, uint64_t c, void* c_layout, uint64_t d, void* d_layout, const void*, void*,
                   size_t, void*) {
    auto& operation = *(MatmulDesc*)desc;
    auto& A = *(Layout*)a_layout;
    auto& B = *(Layout*)b_layout;
    auto& C = *(Layout*)c_layout;
    auto& D = *(Layout*)d_layout;
    const float alpha = *(const float*)alpha_pointer, beta = *(const float*)beta_pointer;
    const uint64_t m = operation.trans_a ? A.cols : A.rows, k = operation.trans_a ? A.rows : A.cols;
    const uint64_t kb = operation.trans_b ? B.cols : B.rows, n = operation.trans_b ? B.rows : B.cols;
    if (k != kb || D.rows != m || D.cols != n || C.rows != m || C.cols != n || A.batch != D.batch || B.batch != D.batch ||
        C.batch != D.batch) {
        report("cublasLtMatmul: shapes do not match (op(A) %llu×%llu, op(B) %llu×%llu, D %llu×%llu; batches %d %d %d)",
               (unsigned long long)m, (unsigned long long)k, (unsigned long long)kb, (unsigned long long)n,
               (unsigned long long)D.rows, (unsigned long long)D.cols, A.batch, B.batch, D.batch);
        return kBlasInvalidValue;
    }
    const bool bias = operation.epilogue == 4;
    if (bias && !operation.bias) {
        report("cublasLtMatmul: BIAS epilogue without a bias pointer");
        return kBlasInvalidValue;
    }
    const int bias_type = operation.bias_type >= 0 ? operation.bias_type : D.type;
    if (!in_device("A", a, A) || !in_device("B", b, B) || !in_device("D", d, D) || (beta != 0 && !in_device("C", c, C)) ||
        (bias && !device_range_valid(operation.bias, m * element_bytes(bias_type)))) {
        if (bias && !device_range_valid(operation.bias, m * element_bytes(bias_type)))
            report("cublasLtMatmul: the bias (%llu elements) is not inside one device allocation", (unsigned long long)m);
        return kBlasExecutionFailed;
    }
    std::lock_guard<std::mutex> guard(device_lock());
    std::vector<float> wide_a, wide_b, product(m * n);
    for (int batch = 0; batch < D.batch; batch++) {
        widen(a, A, batch, wide_a);
        widen(b, B, batch, wide_b);
        cblas_sgemm(102, operation.trans_a ? 112 : 111, operation.trans_b ? 112 : 111, (int)m, (int)n, (int)k, alpha,
                    wide_a.data(), (int)A.rows, wide_b.data(), (int)B.rows, 0.0f, product.data(), (int)m);
        for (uint64_t column = 0; column < n; column++) {
            for (uint64_t row = 0; row < m; row++) {
                float value = product[row + column * m];
                if (beta != 0) value += beta * load(c, C.type, (size_t)(batch * C.stride) + row + column * (size_t)C.ld);
                if (bias) value += load(operation.bias, bias_type, row);
                store(d, D.type, (size_t)(batch * D.stride) + row + column * (size_t)D.ld, value);
            }
        }
    }
    return kBlasSuccess;
}

}  // extern "C"
