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
// The process's device, bound on each calling thread by sl_bind_thread (every JNI entry calls it first).
cudaError_t sl_select_device(int device, int sync_each_launch);
cudaError_t sl_bind_thread();
// The selected device's non-blocking stream, on which every launch, copy and memset of the process is queued.
cudaStream_t sl_stream();
// A launcher's result, followed (in debug mode) by cudaDeviceSynchronize so a fault is reported by its launch.
cudaError_t sl_after_launch(cudaError_t launched);
// Stream capture of the decode step's layers (sl_graph_begin .. sl_graph_end: recorded, not run), instantiation,
// replay on the stream, destruction.
cudaError_t sl_graph_begin();
cudaError_t sl_graph_end(cudaGraphExec_t* exec);
cudaError_t sl_graph_launch(cudaGraphExec_t exec);
cudaError_t sl_graph_free(cudaGraphExec_t exec);
cudaError_t sl_current_device(int* device);
cudaError_t sl_versions(int* driver, int* runtime);
cudaError_t sl_device_info(int device, size_t* total_bytes, int* major, int* minor, int* sm_count);
cudaError_t sl_device_count(int* count);
cudaError_t sl_device_name(int device, char* name, size_t capacity);
cudaError_t sl_mem_info(size_t* free_bytes, size_t* total_bytes);
cudaError_t sl_malloc(void** ptr, size_t bytes);
cudaError_t sl_free(void* ptr);
cudaError_t sl_copy_to_device(void* dst, const void* host_src, size_t bytes);
cudaError_t sl_copy_to_host(void* host_dst, const void* src, size_t bytes);
cudaError_t sl_copy_device(void* dst, const void* src, size_t bytes);
cudaError_t sl_memset_zero(void* dst, size_t bytes);
cudaError_t sl_synchronize();
// Pinned host memory for per-step transfers: the host writes it after sl_staging_wait (the previous copy out of it
// is done), sl_staging_upload queues the copy on the stream and records `done`; sl_staging_download copies into it
// and waits for the stream.
struct SlStaging {
    void* host;
    size_t bytes;
    cudaEvent_t done;
};
cudaError_t sl_staging_create(size_t bytes, SlStaging** out);
cudaError_t sl_staging_free(SlStaging* s);
cudaError_t sl_staging_wait(SlStaging* s);
cudaError_t sl_staging_upload(SlStaging* s, void* dst, size_t bytes);
cudaError_t sl_staging_download(SlStaging* s, const void* src, size_t bytes);

// elementwise.cu (all activations f32, row-major)
cudaError_t sl_rms_norm(const float* x, const float* weight, float eps, int tokens, int dim, float* out);
cudaError_t sl_swiglu(const float* gate, const float* up, long long n, float* out);
cudaError_t sl_add(float* acc, const float* x, long long n);
cudaError_t sl_rope(float* x, int tokens, int heads, int head_dim, const float* cos, const float* sin);

// matvec.cu: out[t, n] = sum_k x[t, k] * w[n, k] + bias[n]; w bf16 [N, K], bias f32 [N] or null.
// Decode path: tokens are taken MATVEC_MAX_TOKENS at a time and each weight is read once per group.
static const int MATVEC_MAX_TOKENS = 16;
cudaError_t sl_matvec_bf16(const float* x, int tokens, const __nv_bfloat16* w, const float* bias, int n, int k,
                           float* out);

// gemm.cu: the same product on tensor cores (mma.sync m16n8k16 bf16, f32 accumulate) for prefill.
// mode GEMM_PRECISE: x = hi + lo (both bf16), two MMAs per step; GEMM_FAST: x rounded to bf16 once.
// Requires K % 16 == 0 and x 16-byte aligned; otherwise it falls back to sl_matvec_bf16 (correct, slower).
enum { GEMM_PRECISE = 0, GEMM_FAST = 1 };
cudaError_t sl_gemm_bf16(const float* x, int tokens, const __nv_bfloat16* w, const float* bias, int n, int k,
                         float* out, int mode);

// embedding.cu: out[t, :] = float(table[ids[t], :]); table bf16 [vocab, hidden]; ids device int [tokens].
cudaError_t sl_embed_bf16(const __nv_bfloat16* table, const int* ids, int tokens, int hidden, float* out);

// attention.cu. The batch is described by small device int arrays (uploaded once per step):
//   row_seq[rows]   sequence index of each row      row_pos[rows]  its position
//   seq_bt[seqs]    offset of the sequence's block table in block_tables
// A row at position p attends to positions 0..p of its sequence (causal; earlier chunks are in the cache).
// A row at position -1 is padding (a decode graph's bucket beyond the step's rows): store_kv writes nothing for it
// and attention writes zeros; its sequence index must still name an entry of seq_bt.
// Cache layout: keys, values [num_blocks, block_size, kv_dim]; position p lives in block
// block_tables[seq_bt[s] + p / block_size], slot p % block_size.
struct AttnBatch {
    const int* row_seq;
    const int* row_pos;
    const int* seq_bt;
    const int* block_tables;
    int rows;
    int block_size;
};
// The cache holds f32, or bf16 when kv_bf16 != 0 (stored rounded to nearest even, read widened): keys and values
// are then float* or __nv_bfloat16* of the same [num_blocks, block_size, kv_dim] shape.
cudaError_t sl_store_kv(const float* k, const float* v, AttnBatch b, int kv_dim, void* keys, void* values,
                        int kv_bf16);
// Splits along the sequence for a batch whose longest row attends to max_len positions; the workspace
// (f32, for split partials) must hold sl_attention_workspace_floats(...) floats (0: none needed).
int sl_attention_splits(int rows, int kv_heads, int max_len);
long long sl_attention_workspace_floats(int rows, int q_heads, int kv_heads, int head_dim, int max_len);
// One block per (row, kv head, split). With row_map (device int [b.rows]) it serves only those batch rows
// (b.rows = their count); null: every row 0 .. b.rows - 1.
cudaError_t sl_attention(const float* q, float* out, AttnBatch b, const int* row_map, int q_heads, int kv_heads,
                         int head_dim, float scale, int max_len, const void* keys, const void* values,
                         int kv_bf16, float* workspace);
// Flash-style prefill: tiles (device int [2 * tile_count]: first row, row count <= tile_rows; consecutive rows of
// one sequence) x kv heads, K/V streamed once per tile. 1 when a tile of tile_rows rows fits the kernel's limits.
int sl_flash_prefill_fits(int tile_rows, int q_heads, int kv_heads, int head_dim);
cudaError_t sl_flash_prefill(const float* q, float* out, AttnBatch b, const int* tiles, int tile_count,
                             int tile_rows, int q_heads, int kv_heads, int head_dim, float scale, const void* keys,
                             const void* values, int kv_bf16);

// sampling.cu: one logits row [vocab] per row. ids: device int [rows].
static const int SAMPLE_MAX_TOP_K = 1024;
cudaError_t sl_argmax(const float* logits, int rows, int vocab, int* ids);
// Rows of stride floats; over the first n of each: the argmax id and its log-softmax (logprobs: device float [rows]).
cudaError_t sl_argmax_logprob(const float* logits, int rows, int stride, int n, int* ids, float* logprobs);
// The argmax as sl_argmax_logprob plus the top `top` (1..SAMPLE_MAX_TOP_LOGPROBS <= n) ids and values, best first,
// with the raw material of the host's log-probs: out [rows, SL_TOP_HEADER + 2 x top] ints (layout in sampling.cu).
static const int SAMPLE_MAX_TOP_LOGPROBS = 20;
cudaError_t sl_argmax_top(const float* logits, int rows, int stride, int n, int top, int* out);
// A temperature draw per row (rows of stride floats, over the first n) with the host Sampler's exact rule: 1/T in
// inv_temperature, top-k (1..SAMPLE_MAX_TOP_K; <= 0 or >= n: every token, top_p must then be 1), top-p over the
// top-k, min-p, the draw at u in [0, 1); all device arrays [rows]. out [rows, 6] ints: id, flags, max, the id's
// value, log-sum (layout in sampling.cu), for the host's log-prob and its checks.
// Bias and penalties first (DrawEdits, rows with edits copied to scratch [rows, n]; layout in sampling.cu).
cudaError_t sl_sample(const float* logits, int rows, int stride, int n, const float* inv_temperature,
                      const int* top_k, const double* top_p, const double* min_p, const double* u,
                      const float* penalty, const int* edit_start, const int* edit_id, const int* edit_kind,
                      const float* edit_bias, const int* edit_count, float* scratch, int* out);
