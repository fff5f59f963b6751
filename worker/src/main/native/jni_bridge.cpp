// JNI entry points of dev.shardline.worker.cuda.CudaNative: unpack primitives and arrays, call a launcher,
// return its cudaError_t. No CUDA error ever aborts the JVM; Java turns codes into CudaException.
#include <jni.h>
#include <cstring>
#include "dev_shardline_worker_cuda_CudaNative.h"
#include "common.cuh"

#define PTR(T, p) reinterpret_cast<T*>(static_cast<uintptr_t>(p))

// Every entry that touches device memory or launches work first binds its thread to the process's device.
#define BIND() CUDA_TRY_JINT(sl_bind_thread())
#define CUDA_TRY_JINT(expr)                                 \
    do {                                                    \
        cudaError_t err_ = (expr);                          \
        if (err_ != cudaSuccess) return (jint) err_;        \
    } while (0)

static jint array_copy_to_device(JNIEnv* env, jarray src, jint offset, jlong dst, jint count, size_t elem) {
    if (count <= 0) return 0;
    if (offset < 0 || (jlong) offset + count > env->GetArrayLength(src)) return (jint) cudaErrorInvalidValue;
    BIND();
    char* host = static_cast<char*>(env->GetPrimitiveArrayCritical(src, nullptr));
    if (host == nullptr) return (jint) cudaErrorMemoryAllocation;
    cudaError_t err = sl_copy_to_device(PTR(void, dst), host + (size_t) offset * elem, (size_t) count * elem);
    env->ReleasePrimitiveArrayCritical(src, host, JNI_ABORT);
    return (jint) err;
}

static jint array_copy_to_host(JNIEnv* env, jlong src, jarray dst, jint offset, jint count, size_t elem) {
    if (count <= 0) return 0;
    if (offset < 0 || (jlong) offset + count > env->GetArrayLength(dst)) return (jint) cudaErrorInvalidValue;
    BIND();
    char* host = static_cast<char*>(env->GetPrimitiveArrayCritical(dst, nullptr));
    if (host == nullptr) return (jint) cudaErrorMemoryAllocation;
    cudaError_t err = sl_copy_to_host(host + (size_t) offset * elem, PTR(void, src), (size_t) count * elem);
    env->ReleasePrimitiveArrayCritical(dst, host, 0);
    return (jint) err;
}

extern "C" {

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_deviceCount(JNIEnv*, jclass) {
    int count = 0;
    cudaError_t err = sl_device_count(&count);
    return err == cudaSuccess ? count : -(jint) err;
}

JNIEXPORT jstring JNICALL Java_dev_shardline_worker_cuda_CudaNative_errorString(JNIEnv* env, jclass, jint code) {
    return env->NewStringUTF(cudaGetErrorString(static_cast<cudaError_t>(code)));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_selectDevice(JNIEnv*, jclass, jint device,
                                                                              jboolean sync_each_launch) {
    return (jint) sl_select_device(device, sync_each_launch ? 1 : 0);
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_currentDevice(JNIEnv*, jclass) {
    int device = -1;
    cudaError_t err = sl_current_device(&device);
    return err == cudaSuccess ? device : -(jint) err;
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_versions(JNIEnv* env, jclass, jintArray out) {
    int driver = 0, runtime = 0;
    cudaError_t err = sl_versions(&driver, &runtime);
    jint values[2] = {driver, runtime};
    env->SetIntArrayRegion(out, 0, 2, values);
    return (jint) err;
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_deviceInfo(JNIEnv* env, jclass, jint device,
                                                                            jlongArray out) {
    size_t total = 0;
    int major = 0, minor = 0, sms = 0;
    cudaError_t err = sl_device_info(device, &total, &major, &minor, &sms);
    jlong values[4] = {(jlong) total, major, minor, sms};
    env->SetLongArrayRegion(out, 0, 4, values);
    return (jint) err;
}

JNIEXPORT jstring JNICALL Java_dev_shardline_worker_cuda_CudaNative_deviceName(JNIEnv* env, jclass, jint device) {
    char name[256];
    if (sl_device_name(device, name, sizeof name) != cudaSuccess) return nullptr;
    return env->NewStringUTF(name);
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_memInfo(JNIEnv* env, jclass, jlongArray out) {
    size_t free_bytes = 0, total_bytes = 0;
    BIND();
    cudaError_t err = sl_mem_info(&free_bytes, &total_bytes);
    jlong values[2] = {(jlong) free_bytes, (jlong) total_bytes};
    env->SetLongArrayRegion(out, 0, 2, values);
    return (jint) err;
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_synchronize(JNIEnv*, jclass) {
    BIND();
    return (jint) sl_synchronize();
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_malloc(JNIEnv* env, jclass, jlong bytes,
                                                                        jlongArray out) {
    void* ptr = nullptr;
    BIND();
    cudaError_t err = sl_malloc(&ptr, (size_t) bytes);
    jlong value = (jlong) reinterpret_cast<uintptr_t>(ptr);
    env->SetLongArrayRegion(out, 0, 1, &value);
    return (jint) err;
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_free(JNIEnv*, jclass, jlong ptr) {
    BIND();
    return (jint) sl_free(PTR(void, ptr));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_copyFloatsToDevice(
        JNIEnv* env, jclass, jfloatArray src, jint offset, jlong dst, jint count) {
    return array_copy_to_device(env, src, offset, dst, count, sizeof(jfloat));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_copyFloatsToHost(
        JNIEnv* env, jclass, jlong src, jfloatArray dst, jint offset, jint count) {
    return array_copy_to_host(env, src, dst, offset, count, sizeof(jfloat));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_copyShortsToDevice(
        JNIEnv* env, jclass, jshortArray src, jint offset, jlong dst, jint count) {
    return array_copy_to_device(env, src, offset, dst, count, sizeof(jshort));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_copyShortsToHost(
        JNIEnv* env, jclass, jlong src, jshortArray dst, jint offset, jint count) {
    return array_copy_to_host(env, src, dst, offset, count, sizeof(jshort));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_copyIntsToDevice(
        JNIEnv* env, jclass, jintArray src, jint offset, jlong dst, jint count) {
    return array_copy_to_device(env, src, offset, dst, count, sizeof(jint));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_copyIntsToHost(
        JNIEnv* env, jclass, jlong src, jintArray dst, jint offset, jint count) {
    return array_copy_to_host(env, src, dst, offset, count, sizeof(jint));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_copyDoublesToDevice(
        JNIEnv* env, jclass, jdoubleArray src, jint offset, jlong dst, jint count) {
    return array_copy_to_device(env, src, offset, dst, count, sizeof(jdouble));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_copyDeviceToDevice(
        JNIEnv*, jclass, jlong src, jlong dst, jlong bytes) {
    BIND();
    return (jint) sl_copy_device(PTR(void, dst), PTR(const void, src), (size_t) bytes);
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_memsetZero(JNIEnv*, jclass, jlong ptr, jlong bytes) {
    BIND();
    return (jint) sl_memset_zero(PTR(void, ptr), (size_t) bytes);
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_copyAddressToDevice(
        JNIEnv*, jclass, jlong host, jlong dst, jlong bytes) {
    BIND();
    return (jint) sl_copy_to_device(PTR(void, dst), PTR(const void, host), (size_t) bytes);
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_copyDeviceToAddress(
        JNIEnv*, jclass, jlong src, jlong host, jlong bytes) {
    BIND();
    return (jint) sl_copy_to_host(PTR(void, host), PTR(const void, src), (size_t) bytes);
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_rmsNorm(
        JNIEnv*, jclass, jlong x, jlong weight, jfloat eps, jint tokens, jint dim, jlong out) {
    BIND();
    return (jint) sl_after_launch(sl_rms_norm(PTR(const float, x), PTR(const float, weight), eps, tokens, dim, PTR(float, out)));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_swiglu(
        JNIEnv*, jclass, jlong gate, jlong up, jlong n, jlong out) {
    BIND();
    return (jint) sl_after_launch(sl_swiglu(PTR(const float, gate), PTR(const float, up), n, PTR(float, out)));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_add(JNIEnv*, jclass, jlong acc, jlong x, jlong n) {
    BIND();
    return (jint) sl_after_launch(sl_add(PTR(float, acc), PTR(const float, x), n));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_rope(
        JNIEnv*, jclass, jlong x, jint tokens, jint heads, jint head_dim, jlong cos, jlong sin) {
    BIND();
    return (jint) sl_after_launch(sl_rope(PTR(float, x), tokens, heads, head_dim, PTR(const float, cos), PTR(const float, sin)));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_matvecBf16(
        JNIEnv*, jclass, jlong x, jint tokens, jlong w, jlong bias, jint n, jint k, jlong out) {
    BIND();
    return (jint) sl_after_launch(sl_matvec_bf16(PTR(const float, x), tokens, PTR(const __nv_bfloat16, w), PTR(const float, bias),
                                 n, k, PTR(float, out)));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_gemmBf16(
        JNIEnv*, jclass, jlong x, jint tokens, jlong w, jlong bias, jint n, jint k, jlong out, jint mode) {
    BIND();
    return (jint) sl_after_launch(sl_gemm_bf16(PTR(const float, x), tokens, PTR(const __nv_bfloat16, w), PTR(const float, bias),
                               n, k, PTR(float, out), mode));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_embedBf16(
        JNIEnv*, jclass, jlong table, jlong ids, jint tokens, jint hidden, jlong out) {
    BIND();
    return (jint) sl_after_launch(sl_embed_bf16(PTR(const __nv_bfloat16, table), PTR(const int, ids), tokens, hidden,
                                PTR(float, out)));
}

static AttnBatch attn_batch(jint rows, jlong row_seq, jlong row_pos, jlong seq_bt, jlong block_tables,
                            jint block_size) {
    AttnBatch b;
    b.row_seq = PTR(const int, row_seq);
    b.row_pos = PTR(const int, row_pos);
    b.seq_bt = PTR(const int, seq_bt);
    b.block_tables = PTR(const int, block_tables);
    b.rows = rows;
    b.block_size = block_size;
    return b;
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_storeKv(
        JNIEnv*, jclass, jlong k, jlong v, jint rows, jint kv_dim, jlong row_seq, jlong row_pos, jlong seq_bt,
        jlong block_tables, jint block_size, jlong keys, jlong values, jboolean kv_bf16) {
    BIND();
    return (jint) sl_after_launch(sl_store_kv(PTR(const float, k), PTR(const float, v),
                              attn_batch(rows, row_seq, row_pos, seq_bt, block_tables, block_size), kv_dim,
                              PTR(void, keys), PTR(void, values), kv_bf16 ? 1 : 0));
}

JNIEXPORT jlong JNICALL Java_dev_shardline_worker_cuda_CudaNative_attentionWorkspaceFloats(
        JNIEnv*, jclass, jint rows, jint q_heads, jint kv_heads, jint head_dim, jint max_len) {
    return (jlong) sl_attention_workspace_floats(rows, q_heads, kv_heads, head_dim, max_len);
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_attention(
        JNIEnv*, jclass, jlong q, jlong out, jint rows, jint q_heads, jint kv_heads, jint head_dim, jfloat scale,
        jint max_len, jlong row_seq, jlong row_pos, jlong seq_bt, jlong block_tables, jint block_size, jlong keys,
        jlong values, jlong workspace, jlong row_map, jboolean kv_bf16) {
    BIND();
    return (jint) sl_after_launch(sl_attention(PTR(const float, q), PTR(float, out),
                               attn_batch(rows, row_seq, row_pos, seq_bt, block_tables, block_size),
                               PTR(const int, row_map), q_heads, kv_heads, head_dim, scale, max_len,
                               PTR(const void, keys), PTR(const void, values), kv_bf16 ? 1 : 0,
                               PTR(float, workspace)));
}

JNIEXPORT jboolean JNICALL Java_dev_shardline_worker_cuda_CudaNative_flashPrefillFits(
        JNIEnv*, jclass, jint tile_rows, jint q_heads, jint kv_heads, jint head_dim) {
    return sl_flash_prefill_fits(tile_rows, q_heads, kv_heads, head_dim) ? JNI_TRUE : JNI_FALSE;
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_flashPrefill(
        JNIEnv*, jclass, jlong q, jlong out, jlong tiles, jint tile_count, jint tile_rows, jint q_heads,
        jint kv_heads, jint head_dim, jfloat scale, jlong row_seq, jlong row_pos, jlong seq_bt, jlong block_tables,
        jint block_size, jlong keys, jlong values, jboolean kv_bf16) {
    BIND();
    return (jint) sl_after_launch(sl_flash_prefill(PTR(const float, q), PTR(float, out),
                               attn_batch(0, row_seq, row_pos, seq_bt, block_tables, block_size),
                               PTR(const int, tiles), tile_count, tile_rows, q_heads, kv_heads, head_dim, scale,
                               PTR(const void, keys), PTR(const void, values), kv_bf16 ? 1 : 0));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_argmax(
        JNIEnv*, jclass, jlong logits, jint rows, jint vocab, jlong ids) {
    BIND();
    return (jint) sl_after_launch(sl_argmax(PTR(const float, logits), rows, vocab, PTR(int, ids)));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_argmaxLogprob(
        JNIEnv*, jclass, jlong logits, jint rows, jint stride, jint n, jlong ids, jlong logprobs) {
    BIND();
    return (jint) sl_after_launch(sl_argmax_logprob(PTR(const float, logits), rows, stride, n, PTR(int, ids),
                                                    PTR(float, logprobs)));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_argmaxTop(
        JNIEnv*, jclass, jlong logits, jint rows, jint stride, jint n, jint top, jlong out) {
    BIND();
    return (jint) sl_after_launch(sl_argmax_top(PTR(const float, logits), rows, stride, n, top, PTR(int, out)));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_sample(
        JNIEnv*, jclass, jlong logits, jint rows, jint stride, jint n, jlong inv_temperature, jlong top_k,
        jlong top_p, jlong min_p, jlong u, jlong penalty, jlong edit_start, jlong edit_id, jlong edit_kind,
        jlong edit_bias, jlong edit_count, jlong scratch, jlong out) {
    BIND();
    return (jint) sl_after_launch(sl_sample(PTR(const float, logits), rows, stride, n,
                                            PTR(const float, inv_temperature), PTR(const int, top_k),
                                            PTR(const double, top_p), PTR(const double, min_p), PTR(const double, u),
                                            PTR(const float, penalty), PTR(const int, edit_start),
                                            PTR(const int, edit_id), PTR(const int, edit_kind),
                                            PTR(const float, edit_bias), PTR(const int, edit_count),
                                            PTR(float, scratch), PTR(int, out)));
}

// --- pinned staging buffers (handle = SlStaging*) ---

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_stagingCreate(
        JNIEnv* env, jclass, jlong bytes, jlongArray out) {
    if (bytes <= 0) return (jint) cudaErrorInvalidValue;
    BIND();
    SlStaging* s = nullptr;
    cudaError_t err = sl_staging_create((size_t) bytes, &s);
    jlong handle = (jlong) reinterpret_cast<uintptr_t>(s);
    env->SetLongArrayRegion(out, 0, 1, &handle);
    return (jint) err;
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_stagingFree(JNIEnv*, jclass, jlong handle) {
    BIND();
    return (jint) sl_staging_free(PTR(SlStaging, handle));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_stagingWait(JNIEnv*, jclass, jlong handle) {
    BIND();
    return (jint) sl_staging_wait(PTR(SlStaging, handle));
}

// Copies between a Java array and the pinned memory at byte_offset (no CUDA call: the caller waited first).
static jint staging_put(JNIEnv* env, jlong handle, jlong byte_offset, jarray src, jint offset, jint count,
                        size_t elem) {
    SlStaging* s = PTR(SlStaging, handle);
    if (count <= 0) return 0;
    if (byte_offset < 0 || offset < 0 || (jlong) offset + count > env->GetArrayLength(src)
        || (size_t) byte_offset + (size_t) count * elem > s->bytes) {
        return (jint) cudaErrorInvalidValue;
    }
    char* host = static_cast<char*>(env->GetPrimitiveArrayCritical(src, nullptr));
    if (host == nullptr) return (jint) cudaErrorMemoryAllocation;
    std::memcpy(static_cast<char*>(s->host) + byte_offset, host + (size_t) offset * elem, (size_t) count * elem);
    env->ReleasePrimitiveArrayCritical(src, host, JNI_ABORT);
    return 0;
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_stagingPutInts(
        JNIEnv* env, jclass, jlong handle, jlong byte_offset, jintArray src, jint offset, jint count) {
    return staging_put(env, handle, byte_offset, src, offset, count, sizeof(jint));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_stagingPutFloats(
        JNIEnv* env, jclass, jlong handle, jlong byte_offset, jfloatArray src, jint offset, jint count) {
    return staging_put(env, handle, byte_offset, src, offset, count, sizeof(jfloat));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_stagingPutDoubles(
        JNIEnv* env, jclass, jlong handle, jlong byte_offset, jdoubleArray src, jint offset, jint count) {
    return staging_put(env, handle, byte_offset, src, offset, count, sizeof(jdouble));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_stagingGetInts(
        JNIEnv* env, jclass, jlong handle, jlong byte_offset, jintArray dst, jint offset, jint count) {
    SlStaging* s = PTR(SlStaging, handle);
    if (count <= 0) return 0;
    if (byte_offset < 0 || offset < 0 || (jlong) offset + count > env->GetArrayLength(dst)
        || (size_t) byte_offset + (size_t) count * sizeof(jint) > s->bytes) {
        return (jint) cudaErrorInvalidValue;
    }
    env->SetIntArrayRegion(dst, offset, count,
                           reinterpret_cast<const jint*>(static_cast<char*>(s->host) + byte_offset));
    return 0;
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_stagingUpload(
        JNIEnv*, jclass, jlong handle, jlong dst, jlong bytes) {
    BIND();
    return (jint) sl_staging_upload(PTR(SlStaging, handle), PTR(void, dst), (size_t) bytes);
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_stagingDownload(
        JNIEnv*, jclass, jlong handle, jlong src, jlong bytes) {
    BIND();
    return (jint) sl_staging_download(PTR(SlStaging, handle), PTR(const void, src), (size_t) bytes);
}

// --- decode graphs: handle = the cudaGraphExec_t ---

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_graphBegin(JNIEnv*, jclass) {
    BIND();
    return (jint) sl_graph_begin();
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_graphEnd(JNIEnv* env, jclass, jlongArray out) {
    BIND();
    cudaGraphExec_t exec = nullptr;
    cudaError_t err = sl_graph_end(&exec);
    jlong handle = (jlong) reinterpret_cast<uintptr_t>(exec);
    env->SetLongArrayRegion(out, 0, 1, &handle);
    return (jint) err;
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_graphLaunch(JNIEnv*, jclass, jlong handle) {
    BIND();
    return (jint) sl_after_launch(sl_graph_launch(PTR(CUgraphExec_st, handle)));
}

JNIEXPORT jint JNICALL Java_dev_shardline_worker_cuda_CudaNative_graphFree(JNIEnv*, jclass, jlong handle) {
    BIND();
    return (jint) sl_graph_free(PTR(CUgraphExec_st, handle));
}

}  // extern "C"
