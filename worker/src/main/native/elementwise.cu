// RMSNorm, SwiGLU, residual add, rotate-half RoPE. f32 activations, f32 accumulation.
#include "common.cuh"

// ---------------------------------------------------------------------------------------------------------------
// kernels

__device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    }
    return v;
}

// One block per token: out[t, i] = x[t, i] / sqrt(mean(x[t, :]^2) + eps) * weight[i].
__global__ void rms_norm_kernel(const float* x, const float* __restrict__ weight, float eps, int dim,
                                float* out) {   // out may be x: no __restrict__
    __shared__ float partial[32];
    const float* row = x + (size_t) blockIdx.x * dim;
    float* dst = out + (size_t) blockIdx.x * dim;
    float sum = 0.f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        float v = row[i];
        sum += v * v;
    }
    sum = warp_sum(sum);
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    if (lane == 0) partial[warp] = sum;
    __syncthreads();
    if (warp == 0) {
        int warps = (blockDim.x + 31) >> 5;
        float s = lane < warps ? partial[lane] : 0.f;
        s = warp_sum(s);
        if (lane == 0) partial[0] = s;
    }
    __syncthreads();
    float inv = rsqrtf(partial[0] / dim + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        dst[i] = row[i] * inv * weight[i];
    }
}

// out[i] = silu(gate[i]) * up[i]; out may be gate (the forward pass writes in place), so no __restrict__.
__global__ void swiglu_kernel(const float* gate, const float* up, long long n, float* out) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        float g = gate[i];
        out[i] = g / (1.f + expf(-g)) * up[i];
    }
}

// acc[i] += x[i]
__global__ void add_kernel(float* __restrict__ acc, const float* __restrict__ x, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        acc[i] += x[i];
    }
}

// x [tokens, heads, headDim] in place; cos, sin [tokens, headDim / 2]; one thread per (token, head, d < half).
__global__ void rope_kernel(float* __restrict__ x, int tokens, int heads, int head_dim,
                            const float* __restrict__ cos, const float* __restrict__ sin) {
    int half = head_dim / 2;
    long long total = (long long) tokens * heads * half;
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i >= total) return;
    int d = (int) (i % half);
    long long th = i / half;           // token * heads + head
    int t = (int) (th / heads);
    float* base = x + th * head_dim;
    float c = cos[(size_t) t * half + d];
    float s = sin[(size_t) t * half + d];
    float a = base[d];
    float b = base[d + half];
    base[d] = a * c - b * s;
    base[d + half] = b * c + a * s;
}

// ---------------------------------------------------------------------------------------------------------------
// launchers

static const int ELEMENTWISE_BLOCK = 256;

static unsigned int grid_stride_blocks(long long n) {
    unsigned int b = blocks_for(n, ELEMENTWISE_BLOCK);
    return b > 65535u * 8u ? 65535u * 8u : b;
}

cudaError_t sl_rms_norm(const float* x, const float* weight, float eps, int tokens, int dim, float* out) {
    if (tokens <= 0) return cudaSuccess;
    int block = dim >= 1024 ? 1024 : ((dim + 31) / 32) * 32;
    rms_norm_kernel<<<tokens, block, 0, sl_stream()>>>(x, weight, eps, dim, out);
    return cudaGetLastError();
}

cudaError_t sl_swiglu(const float* gate, const float* up, long long n, float* out) {
    if (n <= 0) return cudaSuccess;
    swiglu_kernel<<<grid_stride_blocks(n), ELEMENTWISE_BLOCK, 0, sl_stream()>>>(gate, up, n, out);
    return cudaGetLastError();
}

cudaError_t sl_add(float* acc, const float* x, long long n) {
    if (n <= 0) return cudaSuccess;
    add_kernel<<<grid_stride_blocks(n), ELEMENTWISE_BLOCK, 0, sl_stream()>>>(acc, x, n);
    return cudaGetLastError();
}

cudaError_t sl_rope(float* x, int tokens, int heads, int head_dim, const float* cos, const float* sin) {
    long long total = (long long) tokens * heads * (head_dim / 2);
    if (total <= 0) return cudaSuccess;
    rope_kernel<<<blocks_for(total, ELEMENTWISE_BLOCK), ELEMENTWISE_BLOCK, 0, sl_stream()>>>(x, tokens, heads, head_dim, cos, sin);
    return cudaGetLastError();
}
