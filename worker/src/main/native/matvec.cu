// Decode matrix-vector: bf16 weight [N, K] (nn.Linear layout) times f32 activations [tokens, K], f32 accumulation,
// optional f32 bias. Memory-bound: one warp per output row, each lane reading 16 bytes (8 bf16) per step.
#include "common.cuh"

// ---------------------------------------------------------------------------------------------------------------
// kernels

static const int MATVEC_WARPS = 8;  // rows per block

__device__ __forceinline__ float warp_sum_mv(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    }
    return v;
}

// bf16 pair (packed in a uint32) -> two floats: the bf16 bits are the high half of an f32.
__device__ __forceinline__ float bf16_lo(uint32_t p) { return __uint_as_float(p << 16); }
__device__ __forceinline__ float bf16_hi(uint32_t p) { return __uint_as_float(p & 0xffff0000u); }

// Vectorised path: requires K % 8 == 0 and 16-byte aligned w and x (cudaMalloc gives 256-byte alignment).
// grid: (ceil(N / MATVEC_WARPS), tokens)
__global__ void matvec_bf16_vec8_kernel(const float* __restrict__ x, const uint4* __restrict__ w,
                                        const float* __restrict__ bias, int n, int k, float* __restrict__ out) {
    int row = blockIdx.x * MATVEC_WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (row >= n) return;
    int t = blockIdx.y;
    int k8 = k >> 3;
    const uint4* wrow = w + (size_t) row * k8;
    const float4* xrow = reinterpret_cast<const float4*>(x + (size_t) t * k);
    float acc = 0.f;
    for (int j = lane; j < k8; j += 32) {
        uint4 p = __ldg(wrow + j);       // 8 bf16 weights
        float4 a = __ldg(xrow + 2 * j);
        float4 b = __ldg(xrow + 2 * j + 1);
        acc += bf16_lo(p.x) * a.x + bf16_hi(p.x) * a.y + bf16_lo(p.y) * a.z + bf16_hi(p.y) * a.w
             + bf16_lo(p.z) * b.x + bf16_hi(p.z) * b.y + bf16_lo(p.w) * b.z + bf16_hi(p.w) * b.w;
    }
    acc = warp_sum_mv(acc);
    if (lane == 0) {
        out[(size_t) t * n + row] = acc + (bias != nullptr ? bias[row] : 0.f);
    }
}

// Scalar path for any K or alignment.
__global__ void matvec_bf16_scalar_kernel(const float* __restrict__ x, const __nv_bfloat16* __restrict__ w,
                                          const float* __restrict__ bias, int n, int k, float* __restrict__ out) {
    int row = blockIdx.x * MATVEC_WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (row >= n) return;
    int t = blockIdx.y;
    const __nv_bfloat16* wrow = w + (size_t) row * k;
    const float* xrow = x + (size_t) t * k;
    float acc = 0.f;
    for (int j = lane; j < k; j += 32) {
        acc += __bfloat162float(wrow[j]) * xrow[j];
    }
    acc = warp_sum_mv(acc);
    if (lane == 0) {
        out[(size_t) t * n + row] = acc + (bias != nullptr ? bias[row] : 0.f);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// launchers

cudaError_t sl_matvec_bf16(const float* x, int tokens, const __nv_bfloat16* w, const float* bias, int n, int k,
                           float* out) {
    if (tokens <= 0 || n <= 0) return cudaSuccess;
    if (tokens > 65535) return cudaErrorInvalidValue;
    dim3 grid(blocks_for(n, MATVEC_WARPS), tokens);
    bool aligned = (k % 8 == 0) && ((uintptr_t) w % 16 == 0) && ((uintptr_t) x % 16 == 0);
    if (aligned) {
        matvec_bf16_vec8_kernel<<<grid, MATVEC_WARPS * 32>>>(x, reinterpret_cast<const uint4*>(w), bias, n, k, out);
    } else {
        matvec_bf16_scalar_kernel<<<grid, MATVEC_WARPS * 32>>>(x, w, bias, n, k, out);
    }
    return cudaGetLastError();
}
