// Token choice on the last stage, one block of 1024 threads per logits row, with the semantics of
// model/.../sampling/Sampler.java:
//   greedy rows: argmax, lowest id on ties (NaN never wins; all NaN: 0), with the log-prob or top log-probs;
//   temperature rows (sample_kernel): bias and penalties as the host's DrawEdits, then the host's DrawWeights, bit for bit: z = (x - max) * invT in float (never
//   fused), t = z * LOG2E in double, weight 0 below t = -42, k = floor(t), f = t - k, p = Horner's degree-12
//   polynomial of 2^f in fma, w = (long long) (p * 2^(42 + k)); the top token weighs exactly 2^42. Weights are
//   64-bit integers, so their sums do not depend on the order in which threads add them. Candidates: top-k
//   (1..SAMPLE_MAX_TOP_K, exactly k tokens, value descending, ties to the lower id) then top-p over them (the
//   prefix while (double) cumBefore < top_p x (double) total, at least 1), or with top-k off every token in id
//   order (top-p must then be 1); min-p keeps (double) w >= min_p x 2^42; the token is the first candidate whose
//   inclusive cumulative weight exceeds (long long) (u x (double) total), clamped to total - 1.
// Top-k finds the k-th largest value by a 4-pass radix select over order-preserving 32-bit keys, gathers the
// tokens above it plus the lowest-id ties, and sorts those <= 1024 candidates with a bitonic sort in shared memory.
// Without top-k each thread sums one contiguous chunk of the row; a block scan of the chunk sums finds the chunk
// that holds the target, which its thread scans again.
#include "common.cuh"
#include <math_constants.h>
#include <climits>

// ---------------------------------------------------------------------------------------------------------------
// kernels

static const int SAMPLE_THREADS = 1024;   // = SAMPLE_MAX_TOP_K: one candidate per thread in the sort

// Float -> unsigned key with the same order (-0 below +0, NaN at the ends), as Selection.key.
__device__ __forceinline__ uint32_t order_key(float v) {
    uint32_t u = __float_as_uint(v);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// Descending sort key: value key high, then (0xffffffff - id) so that the lower id ranks first; 0 = empty.
__device__ __forceinline__ unsigned long long cand_key(uint32_t key, int id) {
    return ((unsigned long long) key << 32) | (0xffffffffu - (uint32_t) id);
}

__device__ __forceinline__ int cand_id(unsigned long long c) {
    return (int) (0xffffffffu - (uint32_t) (c & 0xffffffffull));
}

// DrawWeights.weightOf(z) with z = (x - max) * invT: every operation rounded to nearest, none contracted.
static __constant__ double DRAW_POLY[13] = {
    0x1.0000000000000p+0, 0x1.62e42fefa39efp-1, 0x1.ebfbdff82c58fp-3, 0x1.c6b08d704a0c0p-5,
    0x1.3b2ab6fba4e77p-7, 0x1.5d87fe78a6731p-10, 0x1.430912f86c787p-13, 0x1.ffcbfc588b0c7p-17,
    0x1.62c0223a5c824p-20, 0x1.b5253d395e7c4p-24, 0x1.e4cf5158b8ecap-28, 0x1.e8cac7351bb25p-32,
    0x1.c3bd650fc2986p-36};
static const double DRAW_LOG2E = 0x1.71547652b82fep0;
static const int DRAW_SCALE_BITS = 42;

__device__ __forceinline__ long long draw_weight(float x, float max, float inv_t) {
    const float z = __fmul_rn(__fsub_rn(x, max), inv_t);
    if (!(z >= -29.1122f)) return 0;                        // NaN, -inf and the far tail (never changes a weight)
    const double t = __dmul_rn((double) z, DRAW_LOG2E);
    if (!(t >= (double) -DRAW_SCALE_BITS)) return 0;
    const double k = floor(t);
    const double f = __dsub_rn(t, k);
    double p = DRAW_POLY[12];
#pragma unroll
    for (int i = 11; i >= 0; i--) p = __fma_rn(p, f, DRAW_POLY[i]);
    const double scale = __longlong_as_double((long long) (1023 + DRAW_SCALE_BITS + (int) k) << 52);   // exact
    return (long long) __dmul_rn(p, scale);                 // truncation: floor of a positive value
}

struct SampleShared {
    unsigned long long cand[SAMPLE_THREADS];   // top-k candidates, then sorted
    double chunk_sum[SAMPLE_THREADS];          // block_sum's tree
    long long scan_warp[32];                   // block_scan: warp totals
    long long scan_total;
    int chosen;
    unsigned int hist[256];
    float red_v[32];
    int red_i[32];
    int warp_off[32];
    int tile_ties;
    int n_above;
    uint32_t prefix;
    uint32_t prefix_mask;
    int remaining;
    float max;
    int top;
};

// Block argmax of x[0..n): the largest value, lowest index on ties, NaN skipped; all NaN -> 0.
// Every thread gets the result (s.max, s.top); ends with a barrier.
__device__ void block_argmax(const float* x, int n, SampleShared& s) {
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    float best = -CUDART_INF_F;
    int bi = INT_MAX;
    for (int i = tid; i < n; i += blockDim.x) {
        float v = x[i];
        if (v > best || (v == best && i < bi)) {   // indices rise per thread: '<' matters only for -inf
            best = v;
            bi = i;
        }
    }
    for (int offset = 16; offset > 0; offset >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, best, offset);
        int oi = __shfl_xor_sync(0xffffffffu, bi, offset);
        if (ov > best || (ov == best && oi < bi)) {
            best = ov;
            bi = oi;
        }
    }
    if (lane == 0) {
        s.red_v[warp] = best;
        s.red_i[warp] = bi;
    }
    __syncthreads();
    if (warp == 0) {
        int warps = blockDim.x >> 5;
        best = lane < warps ? s.red_v[lane] : -CUDART_INF_F;
        bi = lane < warps ? s.red_i[lane] : INT_MAX;
        for (int offset = 16; offset > 0; offset >>= 1) {
            float ov = __shfl_xor_sync(0xffffffffu, best, offset);
            int oi = __shfl_xor_sync(0xffffffffu, bi, offset);
            if (ov > best || (ov == best && oi < bi)) {
                best = ov;
                bi = oi;
            }
        }
        if (lane == 0) {
            s.top = bi == INT_MAX ? 0 : bi;
            s.max = bi == INT_MAX ? x[0] : best;
        }
    }
    __syncthreads();
}

// The block's total of each thread's v, in s.chunk_sum[0] for every thread after it returns (a power-of-two block).
__device__ void block_sum(double v, SampleShared& s) {
    const int tid = threadIdx.x;
    s.chunk_sum[tid] = v;
    __syncthreads();
    for (int half = blockDim.x >> 1; half > 0; half >>= 1) {
        if (tid < half) s.chunk_sum[tid] += s.chunk_sum[tid + half];
        __syncthreads();
    }
}

// Exclusive prefix sum of each thread's v over the block (thread order), and the block's total; ends with a barrier.
// Integer sums: any order of addition gives the same values.
__device__ long long block_scan(long long v, long long* total, SampleShared& s) {
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    long long incl = v;
    for (int offset = 1; offset < 32; offset <<= 1) {
        long long o = __shfl_up_sync(0xffffffffu, incl, offset);
        if (lane >= offset) incl += o;
    }
    if (lane == 31) s.scan_warp[warp] = incl;
    __syncthreads();
    if (warp == 0) {
        const int warps = blockDim.x >> 5;
        long long w = lane < warps ? s.scan_warp[lane] : 0;
        long long wi = w;
        for (int offset = 1; offset < 32; offset <<= 1) {
            long long o = __shfl_up_sync(0xffffffffu, wi, offset);
            if (lane >= offset) wi += o;
        }
        if (lane < warps) s.scan_warp[lane] = wi - w;       // exclusive warp offsets
        if (lane == 31) s.scan_total = wi;
    }
    __syncthreads();
    const long long excl = s.scan_warp[warp] + incl - v;
    *total = s.scan_total;
    __syncthreads();                                         // scan_warp and scan_total may be rewritten next
    return excl;
}

__global__ void __launch_bounds__(SAMPLE_THREADS) argmax_kernel(const float* __restrict__ logits, int vocab,
                                                                int* __restrict__ ids) {
    __shared__ SampleShared s;
    block_argmax(logits + (size_t) blockIdx.x * vocab, vocab, s);
    if (threadIdx.x == 0) ids[blockIdx.x] = s.top;
}

// Greedy token of row r (x = logits + r * stride, the first n values) and its log-probability as Sampler.score
// computes it over the same n values: log_softmax(x[top]) = (x[top] - max) - log(sum exp(x - max)), the sum in
// double (the host sums float exps; the difference is ~1e-7). Host corner cases kept: a NaN anywhere makes the
// host's max NaN and the log-prob -inf; a non-finite max (all -inf, or +inf present) gives 0 for the token equal
// to it, else -inf. Only ids[r] and logprobs[r] leave the device.
__global__ void __launch_bounds__(SAMPLE_THREADS) argmax_logprob_kernel(const float* __restrict__ logits, int stride,
                                                                        int n, int* __restrict__ ids,
                                                                        float* __restrict__ logprobs) {
    __shared__ SampleShared s;
    __shared__ int any_nan;
    const int tid = threadIdx.x;
    const float* x = logits + (size_t) blockIdx.x * stride;
    if (tid == 0) any_nan = 0;
    block_argmax(x, n, s);                            // its barriers publish any_nan = 0
    const float max = s.max;
    double sum = 0;
    bool saw_nan = false;
    for (int i = tid; i < n; i += blockDim.x) {
        float v = x[i];
        if (isnan(v)) saw_nan = true;
        else if (isfinite(max)) sum += exp((double) __fsub_rn(v, max));
    }
    if (saw_nan) atomicOr(&any_nan, 1);
    block_sum(sum, s);
    if (tid == 0) {
        const int top = s.top;
        const float xt = x[top];
        float lp;
        if (any_nan) lp = -CUDART_INF_F;
        else if (!isfinite(max)) lp = xt == max ? 0.0f : -CUDART_INF_F;
        else lp = (float) ((double) __fsub_rn(xt, max) - log(s.chunk_sum[0]));
        ids[blockIdx.x] = top;
        logprobs[blockIdx.x] = lp;
    }
}

// Top-k candidates of x[0..n) into s.cand[0..k), sorted best first; s.cand[k..) = 0. k in 1..SAMPLE_THREADS.
__device__ void top_k_sorted(const float* x, int n, int k, SampleShared& s) {
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    if (tid == 0) {
        s.prefix = 0;
        s.prefix_mask = 0;
        s.remaining = k;
        s.n_above = 0;
    }
    // radix select, 8 bits per pass from the top: the k-th largest key
    for (int shift = 24; shift >= 0; shift -= 8) {
        if (tid < 256) s.hist[tid] = 0;
        __syncthreads();
        uint32_t prefix = s.prefix, mask = s.prefix_mask;
        for (int i = tid; i < n; i += blockDim.x) {
            uint32_t key = order_key(x[i]);
            if ((key & mask) == prefix) atomicAdd(&s.hist[(key >> shift) & 255u], 1u);
        }
        __syncthreads();
        if (tid == 0) {
            int remaining = s.remaining;
            unsigned int above = 0;
            int d = 255;
            for (; d > 0; d--) {
                if (above + s.hist[d] >= (unsigned int) remaining) break;
                above += s.hist[d];
            }
            s.remaining = remaining - (int) above;       // still needed among keys with this digit
            s.prefix = prefix | ((uint32_t) d << shift);
            s.prefix_mask = mask | (255u << shift);
        }
        __syncthreads();
    }
    const uint32_t threshold = s.prefix;      // the k-th largest key
    const int ties_needed = s.remaining;      // how many keys == threshold are kept (lowest ids)
    const int above_total = k - ties_needed;  // keys > threshold, all kept

    // gather: keys above in any order (sorted next), ties in id order through a block-wide prefix count
    int ties_before = 0;
    for (int base = 0; base < n; base += blockDim.x) {
        int i = base + tid;
        uint32_t key = i < n ? order_key(x[i]) : 0u;
        bool above = i < n && key > threshold;
        bool tie = i < n && key == threshold;
        if (above) {
            int slot = atomicAdd(&s.n_above, 1);
            s.cand[slot] = cand_key(key, i);
        }
        unsigned int ballot = __ballot_sync(0xffffffffu, tie);
        if (lane == 0) s.warp_off[warp] = __popc(ballot);
        __syncthreads();
        if (warp == 0) {
            int warps = blockDim.x >> 5;
            int v = lane < warps ? s.warp_off[lane] : 0;
            int incl = v;
            for (int offset = 1; offset < 32; offset <<= 1) {
                int o = __shfl_up_sync(0xffffffffu, incl, offset);
                if (lane >= offset) incl += o;
            }
            if (lane < warps) s.warp_off[lane] = incl - v;   // exclusive
            if (lane == 31) s.tile_ties = incl;
        }
        __syncthreads();
        if (tie) {
            int rank = ties_before + s.warp_off[warp] + __popc(ballot & ((1u << lane) - 1u));
            if (rank < ties_needed) s.cand[above_total + rank] = cand_key(key, i);
        }
        ties_before += s.tile_ties;
        __syncthreads();                                      // warp_off and tile_ties are rewritten
    }
    if (tid >= k) s.cand[tid] = 0ull;                         // empty slots sort last
    __syncthreads();

    // bitonic sort, descending, SAMPLE_THREADS entries, one per thread
    for (int size = 2; size <= SAMPLE_THREADS; size <<= 1) {
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            int j = tid ^ stride;
            if (j > tid) {
                bool descending = (tid & size) == 0;
                unsigned long long a = s.cand[tid], b = s.cand[j];
                if (descending ? a < b : a > b) {
                    s.cand[tid] = b;
                    s.cand[j] = a;
                }
            }
            __syncthreads();
        }
    }
}

// Greedy token with top log-probs (the host Sampler.score with top_logprobs = top): row r writes SL_TOP_HEADER + 2 x
// top ints at out + r * (SL_TOP_HEADER + 2 x top): the argmax id (as argmax_logprob_kernel), flags (bit 0: a NaN in
// the first n values, bit 1: a +0, bit 2: a -0), the row's non-NaN max and the argmax's value (float bits),
// log(sum exp(x - max)) in double (two ints, low first; 0 when the max is not finite), then the top ids, best first
// (top_k_sorted: value descending by the order of Selection.key, lower id first on ties), and their values (float
// bits). The host turns values into log-probs with Sampler's own formula, and declines (samples on the host) a row
// whose result the key order cannot reproduce: a NaN (the host's heap keeps only NaNs among the first ids), or both
// zeros present with a zero at the last place (the heap compares floats, where -0 == +0).
static const int SL_TOP_HEADER = 6;

__global__ void __launch_bounds__(SAMPLE_THREADS) argmax_top_kernel(const float* __restrict__ logits, int stride,
                                                                    int n, int top, int* __restrict__ out) {
    __shared__ SampleShared s;
    __shared__ int flags;
    const int tid = threadIdx.x;
    const float* x = logits + (size_t) blockIdx.x * stride;
    int* o = out + (size_t) blockIdx.x * (SL_TOP_HEADER + 2 * top);
    if (tid == 0) flags = 0;
    block_argmax(x, n, s);                            // its barriers publish flags = 0
    const float max = s.max;
    double sum = 0;
    int mine = 0;
    for (int i = tid; i < n; i += blockDim.x) {
        float v = x[i];
        if (isnan(v)) mine |= 1;
        else if (v == 0.f) mine |= signbit(v) ? 4 : 2;
        if (!isnan(v) && isfinite(max)) sum += exp((double) __fsub_rn(v, max));
    }
    if (mine) atomicOr(&flags, mine);
    block_sum(sum, s);
    if (tid == 0) {
        double log_sum = isfinite(max) ? log(s.chunk_sum[0]) : 0.0;
        unsigned long long bits = (unsigned long long) __double_as_longlong(log_sum);
        o[0] = s.top;
        o[1] = flags;
        o[2] = __float_as_int(max);
        o[3] = __float_as_int(x[s.top]);
        o[4] = (int) (unsigned int) (bits & 0xffffffffull);
        o[5] = (int) (unsigned int) (bits >> 32);
    }
    top_k_sorted(x, n, top, s);                       // uses none of the shared fields read above
    if (tid < top) {
        int id = cand_id(s.cand[tid]);
        o[SL_TOP_HEADER + tid] = id;
        o[SL_TOP_HEADER + top + tid] = __float_as_int(x[id]);
    }
}

// A temperature draw per row r (raw = logits + r * stride, over the first n values) with the host Sampler's rule
// (top of this file) at u[r], after the row's bias and penalties: edits edit_start[r] .. edit_start[r + 1) (token
// edit_id, kind bits 1 bias += edit_bias, 2 repetition penalty[3r], 4 -= penalty[3r + 1] x edit_count then
// -= penalty[3r + 2]) applied to a copy of the row in scratch + r * n. Plus what the host needs for the token's
// log-prob from the raw logits: row r writes
// SL_DRAW_INTS ints at out + r * SL_DRAW_INTS, laid out as argmax_top_kernel's header: the drawn id, flags (bit 0: a
// NaN in the row, 1: a +0, 2: a -0 in the edited row, 3: the top-k path's k-th candidate is a zero), the raw row's
// non-NaN max and the drawn token's raw value (float bits), log(sum exp(x - max)) in double (two ints, low first; 0 when the max is not
// finite). A non-finite max draws the argmax, as the host does. The host declines a row with a NaN (its top-k heap
// and argmax treat NaN apart) or both zeros and a zero k-th candidate (its heap compares floats, -0 == +0).
static const int SL_DRAW_INTS = 6;

__global__ void __launch_bounds__(SAMPLE_THREADS)
sample_kernel(const float* logits, int stride, int n, const float* __restrict__ inv_temperature,
              const int* __restrict__ top_k, const double* __restrict__ top_p, const double* __restrict__ min_p,
              const double* __restrict__ u, const float* __restrict__ penalty, const int* __restrict__ edit_start,
              const int* __restrict__ edit_id, const int* __restrict__ edit_kind,
              const float* __restrict__ edit_bias, const int* __restrict__ edit_count, float* scratch,
              int* __restrict__ out) {
    // logits and scratch without __restrict__: x below points to either, and the edited row is written here, so
    // its loads must not take the read-only (non-coherent) path
    __shared__ SampleShared s;
    __shared__ int flags;
    const int r = blockIdx.x;
    const int tid = threadIdx.x;
    const float* raw = logits + (size_t) r * stride;
    int* o = out + (size_t) r * SL_DRAW_INTS;
    if (tid == 0) {
        flags = 0;
        s.chosen = -1;
    }
    // bias and penalties (DrawEdits): the row copied to scratch, each edited token by one thread, the host's
    // float operations in its order; the draw reads the edited row, the log-prob the raw one
    const int e0 = edit_start[r], e1 = edit_start[r + 1];
    const float* x = raw;
    if (e1 > e0) {
        float* w = scratch + (size_t) r * n;
        for (int i = tid; i < n; i += blockDim.x) w[i] = raw[i];
        __syncthreads();
        const float rep = penalty[3 * r], freq = penalty[3 * r + 1], pres = penalty[3 * r + 2];
        for (int j = e0 + tid; j < e1; j += blockDim.x) {
            const int id = edit_id[j], kind = edit_kind[j];
            float v = w[id];
            if (kind & 1) v = __fadd_rn(v, edit_bias[j]);
            if (kind & 2) v = v > 0.f ? __fdiv_rn(v, rep) : __fmul_rn(v, rep);
            if (kind & 4) {
                v = __fsub_rn(v, __fmul_rn(freq, __int2float_rn(edit_count[j])));
                v = __fsub_rn(v, pres);
            }
            w[id] = v;
        }
        __syncthreads();                              // the block's global writes are visible to it after this
        x = w;
    }
    block_argmax(raw, n, s);                          // its barriers publish flags and chosen
    const float raw_max = s.max;
    double sum = 0;
    int mine = 0;
    for (int i = tid; i < n; i += blockDim.x) {
        float v = raw[i];
        float e = x[i];
        if (isnan(v) || isnan(e)) mine |= 1;
        else if (e == 0.f) mine |= signbit(e) ? 4 : 2;
        if (!isnan(v) && isfinite(raw_max)) sum += exp((double) __fsub_rn(v, raw_max));
    }
    if (mine) atomicOr(&flags, mine);
    block_sum(sum, s);
    const double log_sum = isfinite(raw_max) ? log(s.chunk_sum[0]) : 0.0;
    if (x != raw) block_argmax(x, n, s);              // the draw's max and argmax: of the edited row
    const float max = s.max;
    const int top = s.top;

    const float inv_t = inv_temperature[r];
    if (isfinite(max) && inv_t > 0.f) {                 // inv_t 0: greedy, the edited row's argmax
        const int k = top_k[r];
        const double min_w = __dmul_rn(min_p[r], 0x1p42);
        long long total;
        if (k > 0 && k < n) {                         // k <= SAMPLE_THREADS, checked by the launcher's caller
            top_k_sorted(x, n, k, s);
            const int id = tid < k ? cand_id(s.cand[tid]) : 0;
            const long long w = tid < k ? draw_weight(x[id], max, inv_t) : 0;
            const long long before = block_scan(w, &total, s);
            int keep = k;
            if (top_p[r] < 1.0) {
                const double limit = __dmul_rn(top_p[r], (double) total);
                keep = __syncthreads_count(tid < k && (double) before < limit);
                keep = keep > 1 ? keep : 1;
            }
            const long long w2 = tid < keep && (double) w >= min_w ? w : 0;
            const long long before2 = block_scan(w2, &total, s);
            const long long target = min((long long) __dmul_rn(u[r], (double) total), total - 1);
            if (w2 > 0 && before2 <= target && target < before2 + w2) s.chosen = id;
            if (tid == k - 1 && x[id] == 0.f) atomicOr(&flags, 8);
        } else {                                      // every token in id order; top-p is 1
            const int chunk = (n + blockDim.x - 1) / blockDim.x;
            const int c0 = min(n, tid * chunk), c1 = min(n, c0 + chunk);
            long long mass = 0;
            for (int i = c0; i < c1; i++) {
                long long w = draw_weight(x[i], max, inv_t);
                if ((double) w >= min_w) mass += w;
            }
            const long long before = block_scan(mass, &total, s);
            const long long target = min((long long) __dmul_rn(u[r], (double) total), total - 1);
            if (mass > 0 && before <= target && target < before + mass) {
                long long cum = before;
                for (int i = c0; i < c1; i++) {
                    long long w = draw_weight(x[i], max, inv_t);
                    if ((double) w >= min_w) cum += w;
                    if (cum > target) {
                        s.chosen = i;
                        break;
                    }
                }
            }
        }
    }
    __syncthreads();
    if (tid == 0) {
        const int id = s.chosen >= 0 ? s.chosen : top;    // greedy or a non-finite max: the argmax, as the host
        unsigned long long bits = (unsigned long long) __double_as_longlong(log_sum);
        o[0] = id;
        o[1] = flags;
        o[2] = __float_as_int(raw_max);
        o[3] = __float_as_int(raw[id]);
        o[4] = (int) (unsigned int) (bits & 0xffffffffull);
        o[5] = (int) (unsigned int) (bits >> 32);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// launchers

cudaError_t sl_argmax(const float* logits, int rows, int vocab, int* ids) {
    if (rows <= 0) return cudaSuccess;
    if (vocab <= 0) return cudaErrorInvalidValue;
    argmax_kernel<<<rows, SAMPLE_THREADS, 0, sl_stream()>>>(logits, vocab, ids);
    return cudaGetLastError();
}

cudaError_t sl_argmax_logprob(const float* logits, int rows, int stride, int n, int* ids, float* logprobs) {
    if (rows <= 0) return cudaSuccess;
    if (n <= 0 || n > stride) return cudaErrorInvalidValue;
    argmax_logprob_kernel<<<rows, SAMPLE_THREADS, 0, sl_stream()>>>(logits, stride, n, ids, logprobs);
    return cudaGetLastError();
}

cudaError_t sl_argmax_top(const float* logits, int rows, int stride, int n, int top, int* out) {
    if (rows <= 0) return cudaSuccess;
    if (n <= 0 || n > stride || top < 1 || top > n || top > SAMPLE_MAX_TOP_LOGPROBS) return cudaErrorInvalidValue;
    argmax_top_kernel<<<rows, SAMPLE_THREADS, 0, sl_stream()>>>(logits, stride, n, top, out);
    return cudaGetLastError();
}

cudaError_t sl_sample(const float* logits, int rows, int stride, int n, const float* inv_temperature,
                      const int* top_k, const double* top_p, const double* min_p, const double* u,
                      const float* penalty, const int* edit_start, const int* edit_id, const int* edit_kind,
                      const float* edit_bias, const int* edit_count, float* scratch, int* out) {
    if (rows <= 0) return cudaSuccess;
    if (n <= 0 || n > stride) return cudaErrorInvalidValue;
    sample_kernel<<<rows, SAMPLE_THREADS, 0, sl_stream()>>>(logits, stride, n, inv_temperature, top_k, top_p, min_p,
                                                            u, penalty, edit_start, edit_id, edit_kind, edit_bias,
                                                            edit_count, scratch, out);
    return cudaGetLastError();
}
