// Shared by every .cu file: error propagation and the launcher declarations the JNI bridge calls.
// Launchers never abort: each returns the cudaError_t of its launch (cudaGetLastError) so the JNI layer can
// turn it into a typed Java exception naming the op.
#pragma once

#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cstddef>
#include <cstdint>

#define CUDA_TRY(expr)                                  \
    do {                                                \
        cudaError_t err_ = (expr);                      \
        if (err_ != cudaSuccess) return err_;           \
    } while (0)

// Grid-size helper: ceil(n / block), at least 1.
static inline unsigned int blocks_for(long long n, int block) {
    long long b = (n + block - 1) / block;
    return (unsigned int) (b < 1 ? 1 : b);
}

// device.cu
cudaError_t sl_device_count(int* count);
cudaError_t sl_device_name(int device, char* name, size_t capacity);
cudaError_t sl_mem_info(size_t* free_bytes, size_t* total_bytes);
cudaError_t sl_malloc(void** ptr, size_t bytes);
cudaError_t sl_free(void* ptr);
cudaError_t sl_copy_to_device(void* dst, const void* host_src, size_t bytes);
cudaError_t sl_copy_to_host(void* host_dst, const void* src, size_t bytes);
cudaError_t sl_synchronize();

// elementwise.cu (all activations f32, row-major)
cudaError_t sl_rms_norm(const float* x, const float* weight, float eps, int tokens, int dim, float* out);
cudaError_t sl_swiglu(const float* gate, const float* up, long long n, float* out);
cudaError_t sl_add(float* acc, const float* x, long long n);
cudaError_t sl_rope(float* x, int tokens, int heads, int head_dim, const float* cos, const float* sin);

// matvec.cu: out[t, n] = sum_k x[t, k] * w[n, k] + bias[n]; w bf16 [N, K], bias f32 [N] or null
cudaError_t sl_matvec_bf16(const float* x, int tokens, const __nv_bfloat16* w, const float* bias, int n, int k,
                           float* out);
