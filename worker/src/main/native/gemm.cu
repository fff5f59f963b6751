// Prefill matrix-matrix: out [T, N] = x [T, K] (f32) times w [N, K]^T (bf16, nn.Linear layout) + bias, on tensor
// cores with mma.sync.m16n8k16 (bf16 in, f32 accumulate).
//
// x is f32, the tensor cores take bf16: PRECISE splits each x into hi = bf16(x) and lo = bf16(x - hi) and issues
// two MMAs (hi * w + lo * w; w is exact in bf16), which leaves x's representation error near 2^-17 relative;
// FAST rounds x to bf16 once (2^-9 relative).
//
// Tiling: a block computes a 64 x 128 tile of out (64 tokens x 128 outputs) with 8 warps laid out 2 x 4, each
// warp 32 x 32 (2 m16 tiles x 4 n8 tiles). K is walked 32 at a time: x's 64 x 32 slice is converted into bf16
// hi/lo in shared memory, w's 128 x 32 slice copied as is; the next slice is loaded into registers while the
// current one is multiplied. Requirements (checked by the launcher): K % 16 == 0 (a 32-wide K step may be half
// past K: that half is zero-filled), x and w 16-byte aligned. Any T and N: rows and columns past them are
// zero-filled on load and masked on store.
#include "common.cuh"

// ---------------------------------------------------------------------------------------------------------------
// kernels

static const int GEMM_BM = 64;       // tokens per block
static const int GEMM_BN = 128;      // outputs per block
static const int GEMM_BK = 32;       // K per shared-memory slice
static const int GEMM_PAD = 8;       // bf16 of padding per smem row: row stride 80 bytes, conflict-free fragments
static const int GEMM_LDS = GEMM_BK + GEMM_PAD;
static const int GEMM_THREADS = 256; // 8 warps

// Two floats -> packed bf16x2 (round to nearest even), first in the low half (lower address / lower k).
__device__ __forceinline__ uint32_t pack_bf16(float lo_k, float hi_k) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo_k, hi_k);
    return *reinterpret_cast<uint32_t*>(&v);
}

__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

template <bool PRECISE>
__global__ void __launch_bounds__(GEMM_THREADS)
gemm_bf16_kernel(const float* __restrict__ x, const __nv_bfloat16* __restrict__ w, const float* __restrict__ bias,
                 int T, int N, int K, float* __restrict__ out) {
    __shared__ __align__(16) __nv_bfloat16 a_hi[GEMM_BM][GEMM_LDS];
    __shared__ __align__(16) __nv_bfloat16 a_lo[PRECISE ? GEMM_BM : 1][GEMM_LDS];
    __shared__ __align__(16) __nv_bfloat16 b_s[GEMM_BN][GEMM_LDS];

    const int tid = threadIdx.x;
    const int warp = tid >> 5;
    const int lane = tid & 31;
    const int group = lane >> 2;        // 0..7: fragment row (A, C) / column (B)
    const int quad = lane & 3;          // 0..3: fragment k pair (A, B) / column pair (C)
    const int warp_m = warp >> 2;       // 0..1
    const int warp_n = warp & 3;        // 0..3
    const int m0 = blockIdx.y * GEMM_BM;
    const int n0 = blockIdx.x * GEMM_BN;

    // Global -> register loads of one K slice. x: 64 x 32 floats = 512 float4, two per thread;
    // w: 128 x 32 bf16 = 512 uint4 (8 bf16), two per thread. Chunk c of a thread: row c / 8, column 4 (c % 8)
    // for x; row c / 4, column 8 (c % 4) for w. K % 16 == 0 means a chunk is wholly inside K or wholly past it.
    float4 xr[2];
    uint4 wr[2];
    auto load_slice = [&](int k0) {
#pragma unroll
        for (int i = 0; i < 2; i++) {
            int c = tid + i * GEMM_THREADS;
            int row = c >> 3, col = k0 + ((c & 7) << 2);
            int m = m0 + row;
            xr[i] = (m < T && col < K) ? __ldg(reinterpret_cast<const float4*>(x + (size_t) m * K + col))
                                       : make_float4(0.f, 0.f, 0.f, 0.f);
            int wrow = c >> 2, wcol = k0 + ((c & 3) << 3);
            int nn = n0 + wrow;
            wr[i] = (nn < N && wcol < K) ? __ldg(reinterpret_cast<const uint4*>(w + (size_t) nn * K + wcol))
                                         : make_uint4(0u, 0u, 0u, 0u);
        }
    };
    auto store_slice = [&]() {
#pragma unroll
        for (int i = 0; i < 2; i++) {
            int c = tid + i * GEMM_THREADS;
            int row = c >> 3, col = (c & 7) << 2;
            float4 v = xr[i];
            uint2 hi;
            hi.x = pack_bf16(v.x, v.y);
            hi.y = pack_bf16(v.z, v.w);
            *reinterpret_cast<uint2*>(&a_hi[row][col]) = hi;       // 8-byte aligned: col % 4 == 0, stride 80
            if (PRECISE) {
                __nv_bfloat162 h01 = *reinterpret_cast<__nv_bfloat162*>(&hi.x);
                __nv_bfloat162 h23 = *reinterpret_cast<__nv_bfloat162*>(&hi.y);
                uint2 lo;
                lo.x = pack_bf16(v.x - __low2float(h01), v.y - __high2float(h01));
                lo.y = pack_bf16(v.z - __low2float(h23), v.w - __high2float(h23));
                *reinterpret_cast<uint2*>(&a_lo[row][col]) = lo;
            }
            int wrow = c >> 2, wcol = (c & 3) << 3;
            *reinterpret_cast<uint4*>(&b_s[wrow][wcol]) = wr[i];  // 16-byte aligned: wcol % 8 == 0, stride 80
        }
    };

    float acc[2][4][4];
#pragma unroll
    for (int mi = 0; mi < 2; mi++)
#pragma unroll
        for (int ni = 0; ni < 4; ni++)
#pragma unroll
            for (int r = 0; r < 4; r++) acc[mi][ni][r] = 0.f;

    const int slices = (K + GEMM_BK - 1) / GEMM_BK;
    load_slice(0);
    store_slice();
    __syncthreads();
    for (int s = 0; s < slices; s++) {
        if (s + 1 < slices) load_slice((s + 1) * GEMM_BK);   // in flight while this slice is multiplied
#pragma unroll
        for (int kk = 0; kk < GEMM_BK; kk += 16) {
            uint32_t ahi[2][4], alo[2][4], b[4][2];
#pragma unroll
            for (int mi = 0; mi < 2; mi++) {
                int r = warp_m * 32 + mi * 16 + group;
                int c = kk + quad * 2;
                ahi[mi][0] = *reinterpret_cast<const uint32_t*>(&a_hi[r][c]);
                ahi[mi][1] = *reinterpret_cast<const uint32_t*>(&a_hi[r + 8][c]);
                ahi[mi][2] = *reinterpret_cast<const uint32_t*>(&a_hi[r][c + 8]);
                ahi[mi][3] = *reinterpret_cast<const uint32_t*>(&a_hi[r + 8][c + 8]);
                if (PRECISE) {
                    alo[mi][0] = *reinterpret_cast<const uint32_t*>(&a_lo[r][c]);
                    alo[mi][1] = *reinterpret_cast<const uint32_t*>(&a_lo[r + 8][c]);
                    alo[mi][2] = *reinterpret_cast<const uint32_t*>(&a_lo[r][c + 8]);
                    alo[mi][3] = *reinterpret_cast<const uint32_t*>(&a_lo[r + 8][c + 8]);
                }
            }
#pragma unroll
            for (int ni = 0; ni < 4; ni++) {
                int nrow = warp_n * 32 + ni * 8 + group;
                int c = kk + quad * 2;
                b[ni][0] = *reinterpret_cast<const uint32_t*>(&b_s[nrow][c]);
                b[ni][1] = *reinterpret_cast<const uint32_t*>(&b_s[nrow][c + 8]);
            }
#pragma unroll
            for (int mi = 0; mi < 2; mi++) {
#pragma unroll
                for (int ni = 0; ni < 4; ni++) {
                    if (PRECISE) mma_bf16(acc[mi][ni], alo[mi], b[ni]);   // small part first
                    mma_bf16(acc[mi][ni], ahi[mi], b[ni]);
                }
            }
        }
        if (s + 1 < slices) {
            __syncthreads();          // everyone is done reading this slice
            store_slice();
            __syncthreads();          // the next slice is visible
        }
    }

    // C fragment: c0, c1 at (row group, cols 2 quad, 2 quad + 1); c2, c3 at row group + 8.
#pragma unroll
    for (int mi = 0; mi < 2; mi++) {
#pragma unroll
        for (int ni = 0; ni < 4; ni++) {
            int col = n0 + warp_n * 32 + ni * 8 + quad * 2;
#pragma unroll
            for (int half = 0; half < 2; half++) {
                int row = m0 + warp_m * 32 + mi * 16 + group + half * 8;
                if (row >= T) continue;
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    int cc = col + e;
                    if (cc < N) {
                        out[(size_t) row * N + cc] = acc[mi][ni][half * 2 + e] + (bias != nullptr ? bias[cc] : 0.f);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// launchers

cudaError_t sl_gemm_bf16(const float* x, int tokens, const __nv_bfloat16* w, const float* bias, int n, int k,
                         float* out, int mode) {
    if (tokens <= 0 || n <= 0) return cudaSuccess;
    if (mode != GEMM_PRECISE && mode != GEMM_FAST) return cudaErrorInvalidValue;
    bool tensor_core = k > 0 && k % 16 == 0 && (uintptr_t) x % 16 == 0 && (uintptr_t) w % 16 == 0;
    if (!tensor_core) {
        return sl_matvec_bf16(x, tokens, w, bias, n, k, out);
    }
    int mtiles = (tokens + GEMM_BM - 1) / GEMM_BM;
    if (mtiles > 65535) return cudaErrorInvalidValue;
    dim3 grid(blocks_for(n, GEMM_BN), mtiles);
    if (mode == GEMM_PRECISE) {
        gemm_bf16_kernel<true><<<grid, GEMM_THREADS, 0, sl_stream()>>>(x, w, bias, tokens, n, k, out);
    } else {
        gemm_bf16_kernel<false><<<grid, GEMM_THREADS, 0, sl_stream()>>>(x, w, bias, tokens, n, k, out);
    }
    return cudaGetLastError();
}
