// Paged KV cache writes and causal grouped-query attention over it, f32 throughout.
//
// One kernel serves decode rows and prefill rows: a block owns (row, kv head, split), i.e. the G = qHeads / kvHeads
// query heads that share one kv head (their keys and values are read once for all G) over one contiguous range of
// the row's positions 0..p. Decode splits long sequences across many blocks (flash-decoding): each split leaves
// its running max m, sum l and unnormalised accumulator in a workspace and attention_combine_kernel merges them.
// Prefill batches have enough rows to fill the GPU with one split per row, which then writes the output directly.
// Within a block positions are taken ATTN_CHUNK at a time with an online softmax (rescale by exp(m_old - m_new)).
//
// Limits (checked by the launcher): headDim <= 256 (any value), G <= 32, G * headDim <= 4096.
#include "common.cuh"
#include <math_constants.h>

// ---------------------------------------------------------------------------------------------------------------
// kernels

static const int ATTN_CHUNK = 128;          // positions per shared-memory chunk
static const int ATTN_MAX_HEAD_DIM = 256;   // 8 key floats per lane
static const int ATTN_MAX_GROUP = 32;
static const int ATTN_PAIRS = 16;           // (query head, dim) accumulators per thread
static const int ATTN_MAX_SPLITS = 128;
static const int ATTN_TARGET_BLOCKS = 1024; // splits are added until rows x kvHeads x splits reaches this

__device__ __forceinline__ float attn_warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

__device__ __forceinline__ float attn_warp_max(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

// Float offset of (position, kv head) in the cache for a row's block table.
__device__ __forceinline__ long long kv_slot(const int* bt, int p, int block_size, int kv_dim) {
    long long blk = bt[p / block_size];
    return (blk * block_size + p % block_size) * kv_dim;
}

// k, v [rows, kvDim] -> keys, values at each row's (sequence, position) slot. grid: rows.
__global__ void store_kv_kernel(const float* __restrict__ k, const float* __restrict__ v, AttnBatch b, int kv_dim,
                                float* __restrict__ keys, float* __restrict__ values) {
    int row = blockIdx.x;
    const int* bt = b.block_tables + b.seq_bt[b.row_seq[row]];
    long long slot = kv_slot(bt, b.row_pos[row], b.block_size, kv_dim);
    const float* ks = k + (size_t) row * kv_dim;
    const float* vs = v + (size_t) row * kv_dim;
    for (int j = threadIdx.x; j < kv_dim; j += blockDim.x) {
        keys[slot + j] = ks[j];
        values[slot + j] = vs[j];
    }
}

// grid: (rows, kvHeads, splits); block: 128 or 256 threads (G * D <= ATTN_PAIRS * blockDim).
// Dynamic shared memory: base[ATTN_CHUNK] (long long), then floats qs[G * D], sc[G * ATTN_CHUNK], ms[G], ls[G],
// fac[G]. splits == 1: writes out directly; otherwise part_acc [rows, qHeads, splits, D] and part_ml
// [rows, qHeads, splits, 2] (m, l).
__global__ void attention_split_kernel(const float* __restrict__ q, float* __restrict__ out, AttnBatch b,
                                       int q_heads, int kv_heads, int head_dim, float scale, int splits,
                                       const float* __restrict__ keys, const float* __restrict__ values,
                                       float* __restrict__ part_acc, float* __restrict__ part_ml) {
    extern __shared__ __align__(16) unsigned char attn_smem[];
    const int G = q_heads / kv_heads;
    const int D = head_dim;
    const int GD = G * D;
    long long* base = reinterpret_cast<long long*>(attn_smem);
    float* qs = reinterpret_cast<float*>(base + ATTN_CHUNK);
    float* sc = qs + GD;
    float* ms = sc + G * ATTN_CHUNK;
    float* ls = ms + G;
    float* fac = ls + G;

    const int row = blockIdx.x;
    const int kvh = blockIdx.y;
    const int split = blockIdx.z;
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;
    const int warps = blockDim.x >> 5;
    const int kv_dim = kv_heads * D;
    const int* bt = b.block_tables + b.seq_bt[b.row_seq[row]];
    const int len = b.row_pos[row] + 1;                     // causal: positions 0..p
    const int per = (len + splits - 1) / splits;
    const int s0 = split * per;
    const int s1 = min(len, s0 + per);                      // s0 >= s1: an empty split (m = -inf, l = 0)
    const long long head_off = (long long) kvh * D;

    // the block's G query heads are kvh * G .. kvh * G + G - 1: contiguous in q's row
    const float* qrow = q + (size_t) row * q_heads * D + (size_t) kvh * GD;
    for (int i = tid; i < GD; i += blockDim.x) qs[i] = qrow[i] * scale;
    for (int g = tid; g < G; g += blockDim.x) {
        ms[g] = -CUDART_INF_F;
        ls[g] = 0.f;
    }
    float acc[ATTN_PAIRS];
#pragma unroll
    for (int i = 0; i < ATTN_PAIRS; i++) acc[i] = 0.f;
    __syncthreads();

    for (int c0 = s0; c0 < s1; c0 += ATTN_CHUNK) {
        const int n = min(ATTN_CHUNK, s1 - c0);
        for (int j = tid; j < n; j += blockDim.x) {
            base[j] = kv_slot(bt, c0 + j, b.block_size, kv_dim) + head_off;
        }
        __syncthreads();
        // scores: one warp per position, lanes over the head dimension, all G query heads per key read
        for (int j = warp; j < n; j += warps) {
            const float* kp = keys + base[j];
            float kr[ATTN_MAX_HEAD_DIM / 32];
#pragma unroll
            for (int i = 0; i < ATTN_MAX_HEAD_DIM / 32; i++) {
                int d = lane + 32 * i;
                kr[i] = d < D ? kp[d] : 0.f;
            }
            for (int g = 0; g < G; g++) {
                float s = 0.f;
#pragma unroll
                for (int i = 0; i < ATTN_MAX_HEAD_DIM / 32; i++) {
                    int d = lane + 32 * i;
                    if (d < D) s += kr[i] * qs[g * D + d];
                }
                s = attn_warp_sum(s);
                if (lane == 0) sc[g * ATTN_CHUNK + j] = s;
            }
        }
        __syncthreads();
        // online softmax: one warp per query head; sc becomes exp(score - m_new)
        for (int g = warp; g < G; g += warps) {
            float* sg = sc + g * ATTN_CHUNK;
            float cmax = -CUDART_INF_F;
            for (int j = lane; j < n; j += 32) cmax = fmaxf(cmax, sg[j]);
            cmax = attn_warp_max(cmax);
            float m_old = ms[g];
            float m_new = fmaxf(m_old, cmax);
            float sum = 0.f;
            for (int j = lane; j < n; j += 32) {
                float e = expf(sg[j] - m_new);
                sg[j] = e;
                sum += e;
            }
            sum = attn_warp_sum(sum);
            if (lane == 0) {
                float f = expf(m_old - m_new);              // m_old = -inf (first chunk): 0
                fac[g] = f;
                ls[g] = ls[g] * f + sum;
                ms[g] = m_new;
            }
        }
        __syncthreads();
        // values: thread owns pairs idx = tid + i * blockDim (g = idx / D, d = idx % D), coalesced over d
#pragma unroll
        for (int i = 0; i < ATTN_PAIRS; i++) {
            int idx = tid + i * blockDim.x;
            if (idx < GD) {
                int g = idx / D;
                int d = idx - g * D;
                const float* sg = sc + g * ATTN_CHUNK;
                float a = acc[i] * fac[g];
                for (int j = 0; j < n; j++) a += sg[j] * values[base[j] + d];
                acc[i] = a;
            }
        }
        __syncthreads();                                    // base, sc, fac are rewritten by the next chunk
    }

#pragma unroll
    for (int i = 0; i < ATTN_PAIRS; i++) {
        int idx = tid + i * blockDim.x;
        if (idx < GD) {
            int g = idx / D;
            int d = idx - g * D;
            if (splits == 1) {
                out[(size_t) row * q_heads * D + (size_t) kvh * GD + idx] = acc[i] / ls[g];
            } else {
                size_t ph = ((size_t) row * q_heads + (size_t) kvh * G + g) * splits + split;
                part_acc[ph * D + d] = acc[i];
            }
        }
    }
    if (splits > 1) {
        for (int g = tid; g < G; g += blockDim.x) {
            size_t ph = ((size_t) row * q_heads + (size_t) kvh * G + g) * splits + split;
            part_ml[2 * ph] = ms[g];
            part_ml[2 * ph + 1] = ls[g];
        }
    }
}

// Merges the splits of one (row, query head): out = sum_s e^(m_s - M) acc_s / sum_s e^(m_s - M) l_s.
// grid: rows * qHeads; block 128.
__global__ void attention_combine_kernel(const float* __restrict__ part_acc, const float* __restrict__ part_ml,
                                         int splits, int head_dim, float* __restrict__ out) {
    __shared__ float weight[ATTN_MAX_SPLITS];
    __shared__ float inv_total;
    const size_t rh = blockIdx.x;                           // row * qHeads + head
    const float* ml = part_ml + rh * splits * 2;
    if (threadIdx.x < 32) {
        float m = -CUDART_INF_F;
        for (int s = threadIdx.x; s < splits; s += 32) m = fmaxf(m, ml[2 * s]);
        m = attn_warp_max(m);                               // finite: split 0 always holds position 0
        float total = 0.f;
        for (int s = threadIdx.x; s < splits; s += 32) {
            float wgt = expf(ml[2 * s] - m);                // empty split: m_s = -inf -> 0
            weight[s] = wgt;
            total += wgt * ml[2 * s + 1];
        }
        total = attn_warp_sum(total);
        if (threadIdx.x == 0) inv_total = 1.f / total;
    }
    __syncthreads();
    const float* acc = part_acc + rh * splits * head_dim;
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float o = 0.f;
        for (int s = 0; s < splits; s++) o += weight[s] * acc[(size_t) s * head_dim + d];
        out[rh * head_dim + d] = o * inv_total;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// launchers

cudaError_t sl_store_kv(const float* k, const float* v, AttnBatch b, int kv_dim, float* keys, float* values) {
    if (b.rows <= 0 || kv_dim <= 0) return cudaSuccess;
    if (b.block_size <= 0) return cudaErrorInvalidValue;
    store_kv_kernel<<<b.rows, 256>>>(k, v, b, kv_dim, keys, values);
    return cudaGetLastError();
}

int sl_attention_splits(int rows, int kv_heads, int max_len) {
    if (rows <= 0 || kv_heads <= 0 || max_len <= 0) return 1;
    long long by_len = (max_len + ATTN_CHUNK - 1) / ATTN_CHUNK;   // at least a chunk per split
    long long by_blocks = ATTN_TARGET_BLOCKS / ((long long) rows * kv_heads);
    long long s = by_len < by_blocks ? by_len : by_blocks;
    if (s > ATTN_MAX_SPLITS) s = ATTN_MAX_SPLITS;
    return s < 1 ? 1 : (int) s;
}

long long sl_attention_workspace_floats(int rows, int q_heads, int kv_heads, int head_dim, int max_len) {
    int splits = sl_attention_splits(rows, kv_heads, max_len);
    if (splits == 1) return 0;
    return (long long) rows * q_heads * splits * (head_dim + 2);
}

cudaError_t sl_attention(const float* q, float* out, AttnBatch b, int q_heads, int kv_heads, int head_dim,
                         float scale, int max_len, const float* keys, const float* values, float* workspace) {
    if (b.rows <= 0) return cudaSuccess;
    if (kv_heads <= 0 || q_heads % kv_heads != 0 || head_dim <= 0 || head_dim > ATTN_MAX_HEAD_DIM
        || b.block_size <= 0 || max_len <= 0 || kv_heads > 65535) {
        return cudaErrorInvalidValue;
    }
    int G = q_heads / kv_heads;
    int gd = G * head_dim;
    if (G > ATTN_MAX_GROUP || gd > ATTN_PAIRS * 256) return cudaErrorInvalidValue;
    int threads = gd <= ATTN_PAIRS * 128 ? 128 : 256;
    int splits = sl_attention_splits(b.rows, kv_heads, max_len);
    if (splits > 1 && workspace == nullptr) return cudaErrorInvalidValue;
    size_t smem = ATTN_CHUNK * sizeof(long long) + sizeof(float) * ((size_t) gd + (size_t) G * ATTN_CHUNK + 3 * G);
    float* part_acc = workspace;
    float* part_ml = splits > 1 ? workspace + (size_t) b.rows * q_heads * splits * head_dim : nullptr;
    dim3 grid(b.rows, kv_heads, splits);
    attention_split_kernel<<<grid, threads, smem>>>(q, out, b, q_heads, kv_heads, head_dim, scale, splits, keys,
                                                    values, part_acc, part_ml);
    CUDA_TRY(cudaGetLastError());
    if (splits > 1) {
        attention_combine_kernel<<<(unsigned int) ((long long) b.rows * q_heads), 128>>>(part_acc, part_ml, splits,
                                                                                        head_dim, out);
        CUDA_TRY(cudaGetLastError());
    }
    return cudaSuccess;
}
