// Device queries, device selection and memory: plain cudaMalloc (never managed memory), synchronous copies.
#include "common.cuh"
#include <atomic>
#include <cstring>

// The process's device (one worker process drives one GPU) and whether each launch is followed by a
// synchronisation (debug: errors are then attributed to the launch that caused them). Every JNI entry calls
// sl_bind_thread() first, so every thread that reaches CUDA (the compute thread, a Cleaner, a gRPC thread)
// runs on the selected device: cudaSetDevice is per host thread.
static std::atomic<int> g_device{0};
static std::atomic<int> g_generation{0};
static std::atomic<bool> g_sync_each_launch{false};
static thread_local int t_generation = -1;

cudaError_t sl_select_device(int device, int sync_each_launch) {
    g_sync_each_launch.store(sync_each_launch != 0);
    g_device.store(device);
    g_generation.fetch_add(1);
    t_generation = -1;
    return sl_bind_thread();
}

cudaError_t sl_bind_thread() {
    int generation = g_generation.load(std::memory_order_relaxed);
    if (t_generation == generation) return cudaSuccess;
    CUDA_TRY(cudaSetDevice(g_device.load()));
    t_generation = generation;
    return cudaSuccess;
}

cudaError_t sl_after_launch(cudaError_t launched) {
    if (launched != cudaSuccess || !g_sync_each_launch.load(std::memory_order_relaxed)) return launched;
    return cudaDeviceSynchronize();
}

cudaError_t sl_current_device(int* device) {
    return cudaGetDevice(device);
}

cudaError_t sl_versions(int* driver, int* runtime) {
    *driver = 0;
    *runtime = 0;
    CUDA_TRY(cudaRuntimeGetVersion(runtime));
    return cudaDriverGetVersion(driver);      // 0 when no driver is installed
}

cudaError_t sl_device_info(int device, size_t* total_bytes, int* major, int* minor, int* sm_count) {
    cudaDeviceProp prop;
    CUDA_TRY(cudaGetDeviceProperties(&prop, device));
    *total_bytes = prop.totalGlobalMem;
    *major = prop.major;
    *minor = prop.minor;
    *sm_count = prop.multiProcessorCount;
    return cudaSuccess;
}

cudaError_t sl_device_count(int* count) {
    *count = 0;
    return cudaGetDeviceCount(count);
}

cudaError_t sl_device_name(int device, char* name, size_t capacity) {
    cudaDeviceProp prop;
    CUDA_TRY(cudaGetDeviceProperties(&prop, device));
    std::strncpy(name, prop.name, capacity - 1);
    name[capacity - 1] = '\0';
    return cudaSuccess;
}

cudaError_t sl_mem_info(size_t* free_bytes, size_t* total_bytes) {
    return cudaMemGetInfo(free_bytes, total_bytes);
}

cudaError_t sl_malloc(void** ptr, size_t bytes) {
    *ptr = nullptr;
    return cudaMalloc(ptr, bytes);
}

cudaError_t sl_free(void* ptr) {
    return cudaFree(ptr);
}

cudaError_t sl_copy_to_device(void* dst, const void* host_src, size_t bytes) {
    return cudaMemcpy(dst, host_src, bytes, cudaMemcpyHostToDevice);
}

cudaError_t sl_copy_to_host(void* host_dst, const void* src, size_t bytes) {
    return cudaMemcpy(host_dst, src, bytes, cudaMemcpyDeviceToHost);
}

cudaError_t sl_synchronize() {
    return cudaDeviceSynchronize();
}

cudaError_t sl_copy_device(void* dst, const void* src, size_t bytes) {
    return cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice);
}

cudaError_t sl_memset_zero(void* dst, size_t bytes) {
    return cudaMemset(dst, 0, bytes);
}
