// Token embedding: gathers bf16 rows of the table [vocab, hidden] into f32 activations [tokens, hidden].
#include "common.cuh"

// ---------------------------------------------------------------------------------------------------------------
// kernels

// One block per token, threads over the row. ids are checked against the vocabulary by the caller (host side).
__global__ void embed_bf16_kernel(const __nv_bfloat16* __restrict__ table, const int* __restrict__ ids, int hidden,
                                  float* __restrict__ out) {
    int t = blockIdx.x;
    const __nv_bfloat16* row = table + (size_t) ids[t] * hidden;
    float* dst = out + (size_t) t * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        dst[i] = __bfloat162float(row[i]);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// launchers

cudaError_t sl_embed_bf16(const __nv_bfloat16* table, const int* ids, int tokens, int hidden, float* out) {
    if (tokens <= 0 || hidden <= 0) return cudaSuccess;
    embed_bf16_kernel<<<tokens, 256, 0, sl_stream()>>>(table, ids, hidden, out);
    return cudaGetLastError();
}
