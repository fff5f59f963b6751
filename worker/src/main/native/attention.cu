// Paged KV cache writes and causal grouped-query attention over it. Activations and arithmetic are f32; the cache
// holds f32 or bf16 (kv_bf16: written rounded to nearest even, read widened to f32), a template parameter KV.
//
// One kernel serves decode rows and prefill rows: a block owns (row, kv head, split), i.e. the G = qHeads / kvHeads
// query heads that share one kv head (their keys and values are read once for all G) over one contiguous range of
// the row's positions 0..p. Decode splits long sequences across many blocks (flash-decoding): each split leaves
// its running max m, sum l and unnormalised accumulator in a workspace and attention_combine_kernel merges them.
// Prefill batches have enough rows to fill the GPU with one split per row, which then writes the output directly.
// Within a block positions are taken ATTN_CHUNK at a time with an online softmax (rescale by exp(m_old - m_new)).
//
// Limits (checked by the launcher): headDim <= 256 (any value), G <= 32, G * headDim <= 4096.
// The split kernel can run over a subset of the batch's rows (row_map): decode rows and short chunks.
//
// Prefill tiles (flash_prefill_kernel): a block owns up to tile_rows consecutive rows of one sequence and one kv
// head, i.e. M = rows x G query vectors, and streams the sequence's keys and values FA_BK positions at a time
// through shared memory once for all M (instead of once per row): scores, an online softmax per query vector
// (running max m, sum l, accumulator rescaled by exp(m_old - m_new)), causal mask by position. The tiles and the
// tile size come from the host (PrefillTiling); FlashAttentionNumerics simulates this kernel's arithmetic.
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

// Element offset of (position, kv head) in the cache for a row's block table.
__device__ __forceinline__ long long kv_slot(const int* bt, int p, int block_size, int kv_dim) {
    long long blk = bt[p / block_size];
    return (blk * block_size + p % block_size) * kv_dim;
}

// Cache elements: f32 as is; bf16 rounded to nearest even on store, widened on load.
__device__ __forceinline__ float kv_load(const float* p) { return *p; }
__device__ __forceinline__ float kv_load(const __nv_bfloat16* p) { return __bfloat162float(*p); }
__device__ __forceinline__ void kv_store(float* p, float v) { *p = v; }
__device__ __forceinline__ void kv_store(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

// k, v [rows, kvDim] -> keys, values at each row's (sequence, position) slot. grid: rows.
template <typename KV>
__global__ void store_kv_kernel(const float* __restrict__ k, const float* __restrict__ v, AttnBatch b, int kv_dim,
                                KV* __restrict__ keys, KV* __restrict__ values) {
    int row = blockIdx.x;
    if (b.row_pos[row] < 0) return;                         // padding row: no slot
    const int* bt = b.block_tables + b.seq_bt[b.row_seq[row]];
    long long slot = kv_slot(bt, b.row_pos[row], b.block_size, kv_dim);
    const float* ks = k + (size_t) row * kv_dim;
    const float* vs = v + (size_t) row * kv_dim;
    for (int j = threadIdx.x; j < kv_dim; j += blockDim.x) {
        kv_store(keys + slot + j, ks[j]);
        kv_store(values + slot + j, vs[j]);
    }
}

// grid: (mapped rows, kvHeads, splits); block: 128 or 256 threads (G * D <= ATTN_PAIRS * blockDim). Block r
// serves batch row row_map[r] (all rows in order when row_map is null); the split workspace is indexed by r.
// Dynamic shared memory: base[ATTN_CHUNK] (long long), then floats qs[G * D], sc[G * ATTN_CHUNK], ms[G], ls[G],
// fac[G]. splits == 1: writes out directly; otherwise part_acc [rows, qHeads, splits, D] and part_ml
// [rows, qHeads, splits, 2] (m, l).
template <typename KV>
__global__ void attention_split_kernel(const float* __restrict__ q, float* __restrict__ out, AttnBatch b,
                                       const int* __restrict__ row_map, int q_heads, int kv_heads, int head_dim,
                                       float scale, int splits, const KV* __restrict__ keys,
                                       const KV* __restrict__ values, float* __restrict__ part_acc,
                                       float* __restrict__ part_ml) {
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

    const int r = blockIdx.x;                               // index among the mapped rows (workspace)
    const int row = row_map != nullptr ? row_map[r] : r;    // the batch row
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
            const KV* kp = keys + base[j];
            float kr[ATTN_MAX_HEAD_DIM / 32];
#pragma unroll
            for (int i = 0; i < ATTN_MAX_HEAD_DIM / 32; i++) {
                int d = lane + 32 * i;
                kr[i] = d < D ? kv_load(kp + d) : 0.f;
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
                for (int j = 0; j < n; j++) a += sg[j] * kv_load(values + base[j] + d);
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
            if (splits == 1) {                              // padding row (len 0): l = 0, output 0
                out[(size_t) row * q_heads * D + (size_t) kvh * GD + idx] = len > 0 ? acc[i] / ls[g] : 0.f;
            } else {
                size_t ph = ((size_t) r * q_heads + (size_t) kvh * G + g) * splits + split;
                part_acc[ph * D + d] = acc[i];
            }
        }
    }
    if (splits > 1) {
        for (int g = tid; g < G; g += blockDim.x) {
            size_t ph = ((size_t) r * q_heads + (size_t) kvh * G + g) * splits + split;
            part_ml[2 * ph] = ms[g];
            part_ml[2 * ph + 1] = ls[g];
        }
    }
}

// Merges the splits of one (row, query head): out = sum_s e^(m_s - M) acc_s / sum_s e^(m_s - M) l_s.
// grid: mapped rows * qHeads; block 128. Writes batch row row_map[r] (r when row_map is null).
__global__ void attention_combine_kernel(const float* __restrict__ part_acc, const float* __restrict__ part_ml,
                                         const int* __restrict__ row_map, int q_heads, int splits, int head_dim,
                                         float* __restrict__ out) {
    __shared__ float weight[ATTN_MAX_SPLITS];
    __shared__ float inv_total;
    const size_t rh = blockIdx.x;                           // mapped row * qHeads + head
    const int r = (int) (rh / q_heads);
    const size_t out_rh = (size_t) (row_map != nullptr ? row_map[r] : r) * q_heads + (rh - (size_t) r * q_heads);
    const float* ml = part_ml + rh * splits * 2;
    if (threadIdx.x < 32) {
        float m = -CUDART_INF_F;
        for (int s = threadIdx.x; s < splits; s += 32) m = fmaxf(m, ml[2 * s]);
        m = attn_warp_max(m);                               // finite: split 0 holds position 0 (-inf: padding)
        float total = 0.f;
        for (int s = threadIdx.x; s < splits; s += 32) {
            float wgt = m == -CUDART_INF_F ? 0.f : expf(ml[2 * s] - m);   // empty split: m_s = -inf -> 0
            weight[s] = wgt;
            total += wgt * ml[2 * s + 1];
        }
        total = attn_warp_sum(total);
        if (threadIdx.x == 0) inv_total = total > 0.f ? 1.f / total : 0.f;   // padding row: output 0
    }
    __syncthreads();
    const float* acc = part_acc + rh * splits * head_dim;
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float o = 0.f;
        for (int s = 0; s < splits; s++) o += weight[s] * acc[(size_t) s * head_dim + d];
        out[out_rh * head_dim + d] = o * inv_total;
    }
}

static const int FA_BK = 32;                 // positions per K/V tile (one per lane in the softmax)
static const int FA_THREADS = 256;
static const int FA_PAIRS = 48;              // (query vector, dim) accumulators per thread: M * D <= 48 * 256
static const int FA_MAX_ROWS = 64;           // rows per tile
static const int FA_MAX_VECTORS = 128;       // M = rows x G
static const int FA_MAX_SMEM = 96 * 1024;    // fits the opt-in limit of every target (sm_86/89: 99 KiB)

// Shared floats of a tile of M query vectors: q [M][D], k and v [FA_BK][D + 1] (padded: lanes over positions hit
// distinct banks), p [M][FA_BK], m, l, fac [M].
static inline long long fa_smem_floats(int vectors, int head_dim) {
    return (long long) vectors * head_dim + 2LL * FA_BK * (head_dim + 1) + (long long) vectors * FA_BK
           + 3LL * vectors;
}

// grid: (tiles, kvHeads); block FA_THREADS. tiles[2t] = the tile's first batch row, tiles[2t + 1] = its row count
// (<= tile_rows): consecutive rows of one sequence at consecutive positions. Query vector m = r * G + g is row
// row0 + r, query head kvh * G + g; it attends to positions 0 .. pos(row0) + r.
template <typename KV>
__global__ void __launch_bounds__(FA_THREADS)
flash_prefill_kernel(const float* __restrict__ q, float* __restrict__ out, AttnBatch b, const int* __restrict__ tiles,
                     int tile_rows, int q_heads, int kv_heads, int head_dim, float scale,
                     const KV* __restrict__ keys, const KV* __restrict__ values) {
    extern __shared__ __align__(16) unsigned char fa_smem[];
    const int G = q_heads / kv_heads;
    const int D = head_dim;
    const int DP = D + 1;
    const int GD = G * D;
    const int max_m = tile_rows * G;
    float* qs = reinterpret_cast<float*>(fa_smem);
    float* ks = qs + (size_t) max_m * D;
    float* vs = ks + FA_BK * DP;
    float* ps = vs + FA_BK * DP;
    float* ms = ps + (size_t) max_m * FA_BK;
    float* ls = ms + max_m;
    float* fac = ls + max_m;

    const int row0 = tiles[2 * blockIdx.x];
    const int nrows = tiles[2 * blockIdx.x + 1];
    const int kvh = blockIdx.y;
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;
    const int M = nrows * G;
    const int MD = M * D;
    const int kv_dim = kv_heads * D;
    const size_t q_dim = (size_t) q_heads * D;
    const int* bt = b.block_tables + b.seq_bt[b.row_seq[row0]];
    const int pos0 = b.row_pos[row0];
    const int len = pos0 + nrows;                           // the last row attends to positions 0 .. len - 1
    const long long head_off = (long long) kvh * D;

    // q[m * D + d] = row (row0 + m / G)'s head (kvh * G + m % G), scaled: GD contiguous floats per row
    for (int i = tid; i < MD; i += FA_THREADS) {
        int r = i / GD;
        qs[i] = q[(size_t) (row0 + r) * q_dim + (size_t) kvh * GD + (i - r * GD)] * scale;
    }
    for (int m = tid; m < M; m += FA_THREADS) {
        ms[m] = -CUDART_INF_F;
        ls[m] = 0.f;
    }
    float acc[FA_PAIRS];
#pragma unroll
    for (int i = 0; i < FA_PAIRS; i++) acc[i] = 0.f;

    for (int c0 = 0; c0 < len; c0 += FA_BK) {
        const int n = min(FA_BK, len - c0);
        // K/V tile: lanes over the head dimension (coalesced), zero beyond the last position
        for (int i = tid; i < FA_BK * D; i += FA_THREADS) {
            int j = i / D;
            int d = i - j * D;
            float kx = 0.f, vx = 0.f;
            if (j < n) {
                long long at = kv_slot(bt, c0 + j, b.block_size, kv_dim) + head_off + d;
                kx = kv_load(keys + at);
                vx = kv_load(values + at);
            }
            ks[j * DP + d] = kx;
            vs[j * DP + d] = vx;
        }
        __syncthreads();                                    // also orders the q and m/l initialisation
        // scores s[m][j] = q_m . k_j (f32 FMA in d order); -inf where position c0 + j is after the row's
        for (int i = tid; i < M * FA_BK; i += FA_THREADS) {
            int m = i / FA_BK;
            int j = i - m * FA_BK;
            float s = -CUDART_INF_F;
            if (j < n && c0 + j <= pos0 + m / G) {
                const float* qm = qs + (size_t) m * D;
                const float* kj = ks + j * DP;
                s = 0.f;
                for (int d = 0; d < D; d++) s = fmaf(qm[d], kj[d], s);
            }
            ps[i] = s;
        }
        __syncthreads();
        // online softmax: one warp per query vector, one lane per position; p becomes exp(s - m_new)
        for (int m = warp; m < M; m += FA_THREADS / 32) {
            float s = ps[m * FA_BK + lane];
            float m_old = ms[m];
            float m_new = fmaxf(m_old, attn_warp_max(s));
            float p = s == -CUDART_INF_F ? 0.f : expf(s - m_new);
            float sum = attn_warp_sum(p);
            ps[m * FA_BK + lane] = p;
            if (lane == 0) {
                float f = m_old == -CUDART_INF_F ? 0.f : expf(m_old - m_new);
                fac[m] = f;
                ls[m] = ls[m] * f + sum;
                ms[m] = m_new;
            }
        }
        __syncthreads();
        // acc[m][d] = acc * fac[m] + sum_j p[m][j] v[j][d] (FMA in j order); thread owns idx = tid + i * FA_THREADS
#pragma unroll
        for (int i = 0; i < FA_PAIRS; i++) {
            int idx = tid + i * FA_THREADS;
            if (idx < MD) {
                int m = idx / D;
                int d = idx - m * D;
                const float* pm = ps + m * FA_BK;
                float a = acc[i] * fac[m];
                for (int j = 0; j < n; j++) a = fmaf(pm[j], vs[j * DP + d], a);
                acc[i] = a;
            }
        }
        __syncthreads();                                    // ks, vs, ps, fac are rewritten by the next tile
    }

#pragma unroll
    for (int i = 0; i < FA_PAIRS; i++) {
        int idx = tid + i * FA_THREADS;
        if (idx < MD) {
            int r = idx / GD;
            out[(size_t) (row0 + r) * q_dim + (size_t) kvh * GD + (idx - r * GD)] = acc[i] / ls[idx / D];
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// launchers

cudaError_t sl_store_kv(const float* k, const float* v, AttnBatch b, int kv_dim, void* keys, void* values,
                        int kv_bf16) {
    if (b.rows <= 0 || kv_dim <= 0) return cudaSuccess;
    if (b.block_size <= 0) return cudaErrorInvalidValue;
    if (kv_bf16) {
        store_kv_kernel<__nv_bfloat16><<<b.rows, 256, 0, sl_stream()>>>(k, v, b, kv_dim, static_cast<__nv_bfloat16*>(keys),
                                                        static_cast<__nv_bfloat16*>(values));
    } else {
        store_kv_kernel<float><<<b.rows, 256, 0, sl_stream()>>>(k, v, b, kv_dim, static_cast<float*>(keys),
                                                static_cast<float*>(values));
    }
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

template <typename KV>
static cudaError_t attention_launch(const float* q, float* out, AttnBatch b, const int* row_map, int q_heads,
                                    int kv_heads, int head_dim, float scale, int max_len, const KV* keys,
                                    const KV* values, float* workspace) {
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
    attention_split_kernel<KV><<<grid, threads, smem, sl_stream()>>>(q, out, b, row_map, q_heads, kv_heads, head_dim, scale,
                                                        splits, keys, values, part_acc, part_ml);
    CUDA_TRY(cudaGetLastError());
    if (splits > 1) {
        attention_combine_kernel<<<(unsigned int) ((long long) b.rows * q_heads), 128, 0, sl_stream()>>>(
                part_acc, part_ml, row_map, q_heads, splits, head_dim, out);
        CUDA_TRY(cudaGetLastError());
    }
    return cudaSuccess;
}

cudaError_t sl_attention(const float* q, float* out, AttnBatch b, const int* row_map, int q_heads, int kv_heads,
                         int head_dim, float scale, int max_len, const void* keys, const void* values,
                         int kv_bf16, float* workspace) {
    if (b.rows <= 0) return cudaSuccess;
    if (kv_heads <= 0 || q_heads % kv_heads != 0 || head_dim <= 0 || head_dim > ATTN_MAX_HEAD_DIM
        || b.block_size <= 0 || max_len <= 0 || kv_heads > 65535) {
        return cudaErrorInvalidValue;
    }
    if (kv_bf16) {
        return attention_launch(q, out, b, row_map, q_heads, kv_heads, head_dim, scale, max_len,
                                static_cast<const __nv_bfloat16*>(keys), static_cast<const __nv_bfloat16*>(values),
                                workspace);
    }
    return attention_launch(q, out, b, row_map, q_heads, kv_heads, head_dim, scale, max_len,
                            static_cast<const float*>(keys), static_cast<const float*>(values), workspace);
}

int sl_flash_prefill_fits(int tile_rows, int q_heads, int kv_heads, int head_dim) {
    if (tile_rows <= 0 || tile_rows > FA_MAX_ROWS || kv_heads <= 0 || q_heads % kv_heads != 0 || head_dim <= 0
        || head_dim > ATTN_MAX_HEAD_DIM) {
        return 0;
    }
    long long m = (long long) tile_rows * (q_heads / kv_heads);
    return m <= FA_MAX_VECTORS && m * head_dim <= (long long) FA_PAIRS * FA_THREADS
           && fa_smem_floats((int) m, head_dim) * (long long) sizeof(float) <= FA_MAX_SMEM;
}

template <typename KV>
static cudaError_t flash_launch(const float* q, float* out, AttnBatch b, const int* tiles, int tile_count,
                                int tile_rows, int q_heads, int kv_heads, int head_dim, float scale, const KV* keys,
                                const KV* values) {
    size_t smem = sizeof(float) * (size_t) fa_smem_floats(tile_rows * (q_heads / kv_heads), head_dim);
    if (smem > 48 * 1024) {
        CUDA_TRY(cudaFuncSetAttribute(flash_prefill_kernel<KV>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      (int) smem));
    }
    dim3 grid(tile_count, kv_heads);
    flash_prefill_kernel<KV><<<grid, FA_THREADS, smem, sl_stream()>>>(q, out, b, tiles, tile_rows, q_heads, kv_heads, head_dim,
                                                         scale, keys, values);
    return cudaGetLastError();
}

cudaError_t sl_flash_prefill(const float* q, float* out, AttnBatch b, const int* tiles, int tile_count,
                             int tile_rows, int q_heads, int kv_heads, int head_dim, float scale, const void* keys,
                             const void* values, int kv_bf16) {
    if (tile_count <= 0) return cudaSuccess;
    if (!sl_flash_prefill_fits(tile_rows, q_heads, kv_heads, head_dim) || b.block_size <= 0 || kv_heads > 65535) {
        return cudaErrorInvalidValue;
    }
    if (kv_bf16) {
        return flash_launch(q, out, b, tiles, tile_count, tile_rows, q_heads, kv_heads, head_dim, scale,
                            static_cast<const __nv_bfloat16*>(keys), static_cast<const __nv_bfloat16*>(values));
    }
    return flash_launch(q, out, b, tiles, tile_count, tile_rows, q_heads, kv_heads, head_dim, scale,
                        static_cast<const float*>(keys), static_cast<const float*>(values));
}
