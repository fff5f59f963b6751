// Token choice on the last stage, one block of 1024 threads per logits row [vocab], with the semantics of
// model/.../sampling/Sampler.java (no penalties, no min-p: the caller applies those on the host):
//   temperature < 1e-5 or a non-finite max: argmax, lowest id on ties (NaN never wins; all NaN: 0);
//   otherwise w = exp((x - max) / T) (the float difference times the float 1/T, exp in double, rounded to float),
//   top-k (1..SAMPLE_MAX_TOP_K, exactly k tokens, ties to the lower id, best first), top-p over what top-k kept
//   (keep while the mass before a token is below top_p x the kept mass), and one inverse-CDF draw with the
//   host's u in [0, 1): the first token where u x total - cumulative weight goes below 0.
//   Top-k off (<= 0 or >= vocab): the draw runs over all tokens (top-p must then be 1; checked by the caller).
// Top-k finds the k-th largest value by a 4-pass radix select over order-preserving 32-bit keys, gathers the
// tokens above it plus the lowest-id ties, and sorts those <= 1024 candidates with a bitonic sort in shared memory.
// The sequential sums (norm, top-p, draw) run on one thread in double, in the host's order.
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

// w = exp((x - max) * invT) as the host computes it: float subtract and multiply, exp in double, to float.
__device__ __forceinline__ float weight_of(float x, float max, float inv_t) {
    return (float) exp((double) __fmul_rn(__fsub_rn(x, max), inv_t));
}

struct SampleShared {
    unsigned long long cand[SAMPLE_THREADS];   // top-k candidates, then sorted
    float w[SAMPLE_THREADS];                   // their weights
    double chunk_sum[SAMPLE_THREADS];          // dense draw: weight mass of each thread's chunk
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

__global__ void __launch_bounds__(SAMPLE_THREADS)
sample_kernel(const float* __restrict__ logits, int vocab, const float* __restrict__ temperature,
              const int* __restrict__ top_k, const float* __restrict__ top_p, const double* __restrict__ u,
              int* __restrict__ ids) {
    __shared__ SampleShared s;
    const int r = blockIdx.x;
    const int tid = threadIdx.x;
    const float* x = logits + (size_t) r * vocab;
    block_argmax(x, vocab, s);
    const float t = temperature[r];
    const float max = s.max;
    if (!(t >= 1e-5f) || !isfinite(max)) {          // greedy (NaN temperature too), or no distribution
        if (tid == 0) ids[r] = s.top;
        return;
    }
    const float inv_t = (float) (1.0 / (double) t);
    const int k = top_k[r];

    if (k > 0 && k < vocab && k <= SAMPLE_THREADS) {
        top_k_sorted(x, vocab, k, s);
        if (tid < k) s.w[tid] = weight_of(x[cand_id(s.cand[tid])], max, inv_t);
        __syncthreads();
        if (tid == 0) {
            double norm = 0;
            for (int j = 0; j < k; j++) norm += s.w[j];
            int n = k;
            float p = top_p[r];
            if (p < 1.f) {                               // keep while the mass before is below top_p
                double limit = (double) p * norm;
                double before = 0;
                int keep = 0;
                while (keep < n && before < limit) before += s.w[keep++];
                n = keep > 1 ? keep : 1;
            }
            double total = 0;
            for (int j = 0; j < n; j++) total += s.w[j];
            double left = u[r] * total;
            int last = 0, chosen = -1;
            for (int j = 0; j < n; j++) {
                if (s.w[j] > 0) last = j;
                left -= s.w[j];
                if (left < 0) {
                    chosen = j;
                    break;
                }
            }
            ids[r] = cand_id(s.cand[chosen >= 0 ? chosen : last]);
        }
        return;
    }

    // all tokens: each thread sums the weights of one contiguous chunk, thread 0 finds the chunk and scans it
    const int chunk = (vocab + blockDim.x - 1) / blockDim.x;
    const int c0 = min(vocab, tid * chunk), c1 = min(vocab, c0 + chunk);
    double sum = 0;
    for (int i = c0; i < c1; i++) sum += weight_of(x[i], max, inv_t);
    s.chunk_sum[tid] = sum;
    __syncthreads();
    if (tid == 0) {
        double total = 0;
        for (int c = 0; c < (int) blockDim.x; c++) total += s.chunk_sum[c];
        double left = u[r] * total;
        int c = 0;
        while (c < (int) blockDim.x - 1 && left - s.chunk_sum[c] >= 0) left -= s.chunk_sum[c++];
        int last = s.top, chosen = -1;
        for (int i = c * chunk; i < vocab && chosen < 0; i++) {   // rounding may carry past the chunk's end
            float wi = weight_of(x[i], max, inv_t);
            if (wi > 0) last = i;
            left -= wi;
            if (left < 0) chosen = i;
        }
        ids[r] = chosen >= 0 ? chosen : last;
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

cudaError_t sl_sample(const float* logits, int rows, int vocab, const float* temperature, const int* top_k,
                      const float* top_p, const double* u, int* ids) {
    if (rows <= 0) return cudaSuccess;
    if (vocab <= 0) return cudaErrorInvalidValue;
    sample_kernel<<<rows, SAMPLE_THREADS, 0, sl_stream()>>>(logits, vocab, temperature, top_k, top_p, u, ids);
    return cudaGetLastError();
}
