// Device queries and memory: plain cudaMalloc (never managed memory), synchronous copies.
#include "common.cuh"
#include <cstring>

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
