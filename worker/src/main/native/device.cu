// Device queries, device selection and memory: plain cudaMalloc (never managed memory). All work of the process
// goes to one non-blocking stream per device (sl_stream): launches, asynchronous copies and memsets; a copy to
// host memory waits for the stream (it is the step's synchronisation point). Pinned staging buffers (SlStaging)
// carry the per-step uploads without a host wait: each records an event after its copy, and the next write into
// it waits for that event first.
#include "common.cuh"
#include <atomic>
#include <cstring>
#include <new>

// The process's device (one worker process drives one GPU) and whether each launch is followed by a
// synchronisation (debug: errors are then attributed to the launch that caused them). Every JNI entry calls
// sl_bind_thread() first, so every thread that reaches CUDA (the compute thread, a Cleaner, a gRPC thread)
// runs on the selected device: cudaSetDevice is per host thread.
static std::atomic<int> g_device{0};
static std::atomic<int> g_generation{0};
static std::atomic<bool> g_sync_each_launch{false};
static thread_local int t_generation = -1;
static const int SL_MAX_DEVICES = 64;
static std::atomic<cudaStream_t> g_streams[SL_MAX_DEVICES];   // created once per device, never destroyed

cudaError_t sl_select_device(int device, int sync_each_launch) {
    if (device < 0 || device >= SL_MAX_DEVICES) return cudaErrorInvalidDevice;
    g_sync_each_launch.store(sync_each_launch != 0);
    g_device.store(device);
    g_generation.fetch_add(1);
    t_generation = -1;
    CUDA_TRY(sl_bind_thread());
    if (g_streams[device].load() == nullptr) {
        cudaStream_t stream = nullptr;
        CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
        cudaStream_t expected = nullptr;
        if (!g_streams[device].compare_exchange_strong(expected, stream)) cudaStreamDestroy(stream);
    }
    return cudaSuccess;
}

cudaStream_t sl_stream() {
    int device = g_device.load(std::memory_order_relaxed);
    return g_streams[device].load(std::memory_order_relaxed);   // null before a selection: the legacy stream
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
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    CUDA_TRY(cudaStreamIsCapturing(sl_stream(), &capture));
    if (capture != cudaStreamCaptureStatusNone) return launched;     // synchronising would invalidate the capture
    return cudaDeviceSynchronize();
}

// Decode graphs: the stream's work between begin and end is recorded (not run), instantiated once, and replayed
// with cudaGraphLaunch on the same stream. Thread-local capture mode: another thread's unsafe calls (a Cleaner's
// cudaFree) are not refused because of this capture.
cudaError_t sl_graph_begin() {
    return cudaStreamBeginCapture(sl_stream(), cudaStreamCaptureModeThreadLocal);
}

cudaError_t sl_graph_end(cudaGraphExec_t* exec) {
    *exec = nullptr;
    cudaGraph_t graph = nullptr;
    cudaError_t err = cudaStreamEndCapture(sl_stream(), &graph);   // ends the capture even when it failed
    if (err != cudaSuccess) {
        if (graph != nullptr) cudaGraphDestroy(graph);
        return err;
    }
    err = cudaGraphInstantiate(exec, graph, 0);
    cudaError_t destroyed = cudaGraphDestroy(graph);               // the executable graph keeps what it needs
    if (err != cudaSuccess) {
        *exec = nullptr;
        return err;
    }
    return destroyed;
}

cudaError_t sl_graph_launch(cudaGraphExec_t exec) {
    return cudaGraphLaunch(exec, sl_stream());
}

cudaError_t sl_graph_free(cudaGraphExec_t exec) {
    return exec == nullptr ? cudaSuccess : cudaGraphExecDestroy(exec);
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

// From pageable host memory the runtime stages the source before returning, so the caller may release it.
cudaError_t sl_copy_to_device(void* dst, const void* host_src, size_t bytes) {
    return cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, sl_stream());
}

cudaError_t sl_copy_to_host(void* host_dst, const void* src, size_t bytes) {
    CUDA_TRY(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, sl_stream()));
    return cudaStreamSynchronize(sl_stream());
}

cudaError_t sl_synchronize() {
    return cudaDeviceSynchronize();
}

cudaError_t sl_copy_device(void* dst, const void* src, size_t bytes) {
    return cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, sl_stream());
}

cudaError_t sl_memset_zero(void* dst, size_t bytes) {
    return cudaMemsetAsync(dst, 0, bytes, sl_stream());
}

cudaError_t sl_staging_create(size_t bytes, SlStaging** out) {
    *out = nullptr;
    SlStaging* s = new (std::nothrow) SlStaging();
    if (s == nullptr) return cudaErrorMemoryAllocation;
    s->bytes = bytes;
    cudaError_t err = cudaHostAlloc(&s->host, bytes, cudaHostAllocDefault);
    if (err == cudaSuccess) {
        err = cudaEventCreateWithFlags(&s->done, cudaEventDisableTiming);
        if (err != cudaSuccess) cudaFreeHost(s->host);
    }
    if (err != cudaSuccess) {
        delete s;
        return err;
    }
    *out = s;
    return cudaSuccess;
}

cudaError_t sl_staging_free(SlStaging* s) {
    if (s == nullptr) return cudaSuccess;
    cudaError_t wait = cudaEventSynchronize(s->done);           // a copy may still read the pinned memory
    cudaError_t event = cudaEventDestroy(s->done);
    cudaError_t host = cudaFreeHost(s->host);
    delete s;
    return wait != cudaSuccess ? wait : event != cudaSuccess ? event : host;
}

cudaError_t sl_staging_wait(SlStaging* s) {
    return cudaEventSynchronize(s->done);
}

cudaError_t sl_staging_upload(SlStaging* s, void* dst, size_t bytes) {
    if (bytes > s->bytes) return cudaErrorInvalidValue;
    CUDA_TRY(cudaMemcpyAsync(dst, s->host, bytes, cudaMemcpyHostToDevice, sl_stream()));
    return cudaEventRecord(s->done, sl_stream());
}

cudaError_t sl_staging_download(SlStaging* s, const void* src, size_t bytes) {
    if (bytes > s->bytes) return cudaErrorInvalidValue;
    CUDA_TRY(cudaMemcpyAsync(s->host, src, bytes, cudaMemcpyDeviceToHost, sl_stream()));
    CUDA_TRY(cudaEventRecord(s->done, sl_stream()));
    return cudaStreamSynchronize(sl_stream());
}
