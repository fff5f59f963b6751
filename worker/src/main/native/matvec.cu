// Decode matrix-vector for a small batch: bf16 weight [N, K] (nn.Linear layout) times f32 activations
// [tokens, K], f32 accumulation, optional f32 bias. Memory-bound on the weights, so each weight is read ONCE for
// up to MATVEC_MAX_TOKENS tokens: one warp owns R output rows, each lane reads 16 bytes (8 bf16) of each row per
// step and multiplies them with the same 8 columns of every token (those x reads hit L1/L2: all warps of a block
// walk the same columns at the same time).
#include "common.cuh"

// ---------------------------------------------------------------------------------------------------------------
// kernels

static const int MATVEC_WARPS = 8;  // warps per block

__device__ __forceinline__ float warp_sum_mv(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    }
    return v;
}

// bf16 pair (packed in a uint32) -> two floats: the bf16 bits are the high half of an f32.
__device__ __forceinline__ float bf16_lo(uint32_t p) { return __uint_as_float(p << 16); }
__device__ __forceinline__ float bf16_hi(uint32_t p) { return __uint_as_float(p & 0xffff0000u); }

// Vectorised path. Requires K % 8 == 0 and 16-byte aligned w and x (cudaMalloc gives 256-byte alignment, and
// K % 8 == 0 keeps every row 16-byte aligned). TMAX: tokens handled per launch (compile time, the accumulator
// count); tokens <= TMAX at run time, the rest masked. R: rows per warp. grid: ceil(N / (MATVEC_WARPS * R)).
template <int TMAX, int R>
__global__ void __launch_bounds__(MATVEC_WARPS * 32)
matvec_bf16_vec8_kernel(const float* __restrict__ x, int tokens, const uint4* __restrict__ w,
                        const float* __restrict__ bias, int n, int k, float* __restrict__ out) {
    int row0 = (blockIdx.x * MATVEC_WARPS + (threadIdx.x >> 5)) * R;
    int lane = threadIdx.x & 31;
    if (row0 >= n) return;
    int k8 = k >> 3;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    float acc[TMAX][R];
#pragma unroll
    for (int t = 0; t < TMAX; t++) {
#pragma unroll
        for (int r = 0; r < R; r++) acc[t][r] = 0.f;
    }
    for (int j = lane; j < k8; j += 32) {
        uint4 p[R];
#pragma unroll
        for (int r = 0; r < R; r++) {
            // rows past N (last warp) re-read row n-1; their results are never stored
            int row = min(row0 + r, n - 1);
            p[r] = __ldg(w + (size_t) row * k8 + j);
        }
#pragma unroll
        for (int t = 0; t < TMAX; t++) {
            if (t < tokens) {
                float4 a = __ldg(x4 + (size_t) t * (k >> 2) + 2 * j);
                float4 b = __ldg(x4 + (size_t) t * (k >> 2) + 2 * j + 1);
#pragma unroll
                for (int r = 0; r < R; r++) {
                    acc[t][r] += bf16_lo(p[r].x) * a.x + bf16_hi(p[r].x) * a.y + bf16_lo(p[r].y) * a.z
                               + bf16_hi(p[r].y) * a.w + bf16_lo(p[r].z) * b.x + bf16_hi(p[r].z) * b.y
                               + bf16_lo(p[r].w) * b.z + bf16_hi(p[r].w) * b.w;
                }
            }
        }
    }
#pragma unroll
    for (int t = 0; t < TMAX; t++) {
        if (t < tokens) {
#pragma unroll
            for (int r = 0; r < R; r++) {
                float s = warp_sum_mv(acc[t][r]);
                int row = row0 + r;
                if (lane == 0 && row < n) {
                    out[(size_t) t * n + row] = s + (bias != nullptr ? bias[row] : 0.f);
                }
            }
        }
    }
}

// Scalar path for any K or alignment: one warp per (row, token). grid: (ceil(N / MATVEC_WARPS), tokens)
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

template <int TMAX, int R>
static void launch_vec8(const float* x, int tokens, const __nv_bfloat16* w, const float* bias, int n, int k,
                        float* out) {
    unsigned int grid = blocks_for(n, MATVEC_WARPS * R);
    matvec_bf16_vec8_kernel<TMAX, R><<<grid, MATVEC_WARPS * 32, 0, sl_stream()>>>(x, tokens, reinterpret_cast<const uint4*>(w),
                                                                  bias, n, k, out);
}

// Rows per warp: more rows amortise the x reads over more weights, fewer rows keep enough warps in flight
// for small N (132 SMs x 64 warps on an H200).
template <int TMAX>
static void launch_vec8_rows(const float* x, int tokens, const __nv_bfloat16* w, const float* bias, int n, int k,
                             float* out) {
    if (TMAX >= 4 && n >= 16384) {
        launch_vec8<TMAX, 4>(x, tokens, w, bias, n, k, out);
    } else if (TMAX >= 2 && n >= 4096) {
        launch_vec8<TMAX, 2>(x, tokens, w, bias, n, k, out);
    } else {
        launch_vec8<TMAX, 1>(x, tokens, w, bias, n, k, out);
    }
}

cudaError_t sl_matvec_bf16(const float* x, int tokens, const __nv_bfloat16* w, const float* bias, int n, int k,
                           float* out) {
    if (tokens <= 0 || n <= 0) return cudaSuccess;
    bool aligned = (k % 8 == 0) && ((uintptr_t) w % 16 == 0) && ((uintptr_t) x % 16 == 0);
    if (!aligned) {
        for (int t0 = 0; t0 < tokens; t0 += 65535) {
            int group = tokens - t0 < 65535 ? tokens - t0 : 65535;
            dim3 grid(blocks_for(n, MATVEC_WARPS), group);
            matvec_bf16_scalar_kernel<<<grid, MATVEC_WARPS * 32, 0, sl_stream()>>>(x + (size_t) t0 * k, w, bias, n, k,
                                                                   out + (size_t) t0 * n);
            CUDA_TRY(cudaGetLastError());
        }
        return cudaSuccess;
    }
    // groups of up to MATVEC_MAX_TOKENS tokens; each group reads the weights once
    for (int t0 = 0; t0 < tokens; t0 += MATVEC_MAX_TOKENS) {
        int group = tokens - t0 < MATVEC_MAX_TOKENS ? tokens - t0 : MATVEC_MAX_TOKENS;
        const float* xg = x + (size_t) t0 * k;   // 16-byte aligned: k % 8 == 0
        float* og = out + (size_t) t0 * n;
        if (group == 1) launch_vec8_rows<1>(xg, group, w, bias, n, k, og);
        else if (group == 2) launch_vec8_rows<2>(xg, group, w, bias, n, k, og);
        else if (group <= 4) launch_vec8_rows<4>(xg, group, w, bias, n, k, og);
        else if (group <= 8) launch_vec8_rows<8>(xg, group, w, bias, n, k, og);
        else launch_vec8_rows<16>(xg, group, w, bias, n, k, og);
        CUDA_TRY(cudaGetLastError());
    }
    return cudaSuccess;
}
