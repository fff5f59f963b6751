package dev.shardline.worker.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * The whole JNI boundary: every native of the CUDA backend, static, taking primitives, Java arrays and long
 * device pointers. Each op returns the {@code cudaError_t} of its call (0 = success); callers turn a non-zero
 * code into a {@link CudaException} with {@link #errorString(int)}. Nothing here allocates Java objects on the
 * native side except the strings of {@link #errorString} and {@link #deviceName}.
 *
 * <p>The library is {@code /native/linux-x86_64/libshardline_cuda.so} inside the worker jar (built by
 * {@code worker/src/main/native/build.sh} when nvcc is present), extracted to a temp file and loaded once.
 */
final class CudaNative {

    static final String RESOURCE = "/native/linux-x86_64/libshardline_cuda.so";

    private static final Object LOCK = new Object();
    private static volatile boolean loaded;
    private static volatile String loadFailure;

    private CudaNative() {
    }

    /** Loads the library once; later calls repeat the first outcome. */
    static void ensureLoaded() {
        if (loaded) {
            return;
        }
        synchronized (LOCK) {
            if (!loaded && loadFailure == null) {
                try {
                    load();
                    loaded = true;
                } catch (CudaUnavailableException e) {
                    loadFailure = e.getMessage();
                }
            }
            if (!loaded) {
                throw new CudaUnavailableException(loadFailure);
            }
        }
    }

    private static void load() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new CudaUnavailableException("the CUDA library is built for linux-x86_64 only, this is "
                    + os + "/" + arch);
        }
        try (InputStream in = CudaNative.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new CudaUnavailableException("the CUDA library " + RESOURCE + " is not in the worker jar "
                        + "(it is built only where nvcc is installed; see worker/README.md)");
            }
            Path file = Files.createTempFile("libshardline_cuda", ".so");
            file.toFile().deleteOnExit();
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            System.load(file.toAbsolutePath().toString());
        } catch (IOException e) {
            throw new CudaUnavailableException("cannot extract " + RESOURCE + ": " + e.getMessage());
        } catch (UnsatisfiedLinkError e) {
            throw new CudaUnavailableException("cannot load " + RESOURCE + ": " + e.getMessage());
        }
    }

    // --- device ---

    /**
     * Makes {@code device} the process's device and binds the calling thread to it; every later entry binds its own
     * thread (cudaSetDevice is per host thread) before it touches memory or launches. With
     * {@code syncEachLaunch} every launch is followed by cudaDeviceSynchronize, so a kernel fault is returned by
     * the launch that caused it (debug: it serialises host and device).
     */
    static native int selectDevice(int device, boolean syncEachLaunch);

    /** The calling thread's current device, or minus the cudaError_t. */
    static native int currentDevice();

    /** {@code out[0]} = cudaDriverGetVersion (0: no driver), {@code out[1]} = cudaRuntimeGetVersion (e.g. 13000). */
    static native int versions(int[] out);

    /** {@code out[0..3]} = total memory bytes, compute capability major, minor, multiprocessor count. */
    static native int deviceInfo(int device, long[] out);

    /** Number of devices, or minus the cudaError_t when the runtime cannot ask the driver. */
    static native int deviceCount();

    /** cudaGetErrorString of a code, e.g. "CUDA driver version is insufficient for CUDA runtime version". */
    static native String errorString(int code);

    /** The device's name, or null when it cannot be queried. */
    static native String deviceName(int device);

    /** Fills {@code freeTotal[0..1]} with cudaMemGetInfo's free and total bytes. */
    static native int memInfo(long[] freeTotal);

    static native int synchronize();

    // --- memory ---

    /** cudaMalloc; the pointer goes to {@code out[0]}. */
    static native int malloc(long bytes, long[] out);

    static native int free(long ptr);

    static native int copyFloatsToDevice(float[] src, int srcOffset, long dst, int count);

    static native int copyFloatsToHost(long src, float[] dst, int dstOffset, int count);

    static native int copyShortsToDevice(short[] src, int srcOffset, long dst, int count);

    static native int copyShortsToHost(long src, short[] dst, int dstOffset, int count);

    static native int copyIntsToDevice(int[] src, int srcOffset, long dst, int count);

    static native int copyIntsToHost(long src, int[] dst, int dstOffset, int count);

    static native int copyDoublesToDevice(double[] src, int srcOffset, long dst, int count);

    /** Device to device (cudaMemcpyAsync, ordered with the kernels on the process's stream). */
    static native int copyDeviceToDevice(long src, long dst, long bytes);

    /** cudaMemset(ptr, 0, bytes). */
    static native int memsetZero(long ptr, long bytes);

    /** From native host memory (e.g. a MemorySegment's address) to the device. */
    static native int copyAddressToDevice(long hostAddress, long dst, long bytes);

    /** From the device to native host memory. */
    static native int copyDeviceToAddress(long src, long hostAddress, long bytes);

    // --- pinned staging buffers (PinnedStaging): handle = the native SlStaging ---

    /** cudaHostAlloc of {@code bytes} plus an event; the handle goes to {@code out[0]}. */
    static native int stagingCreate(long bytes, long[] out);

    /** Waits for the last copy out of or into the buffer, then frees it. */
    static native int stagingFree(long handle);

    /** Waits for the event recorded after the last copy (before the host writes the buffer again). */
    static native int stagingWait(long handle);

    static native int stagingPutInts(long handle, long byteOffset, int[] src, int srcOffset, int count);

    static native int stagingPutFloats(long handle, long byteOffset, float[] src, int srcOffset, int count);

    static native int stagingPutDoubles(long handle, long byteOffset, double[] src, int srcOffset, int count);

    static native int stagingGetInts(long handle, long byteOffset, int[] dst, int dstOffset, int count);

    /** Queues pinned -> device on the process's stream and records the buffer's event; does not wait. */
    static native int stagingUpload(long handle, long dst, long bytes);

    /** Device -> pinned on the stream, then waits for the stream. */
    static native int stagingDownload(long handle, long src, long bytes);

    // --- decode graphs (CudaDecodeGraphs): handle = the native cudaGraphExec_t ---

    /** Starts recording the stream's work (thread-local capture mode): launches until {@link #graphEnd} are not run. */
    static native int graphBegin();

    /** Ends the capture (also after a failed one) and instantiates it; the executable graph's handle goes to out[0]. */
    static native int graphEnd(long[] out);

    /** Replays an instantiated graph on the process's stream. */
    static native int graphLaunch(long handle);

    static native int graphFree(long handle);

    // --- ops (all pointers are device pointers; activations f32) ---

    /** x, out [tokens, dim]; weight f32 [dim]. */
    static native int rmsNorm(long x, long weight, float eps, int tokens, int dim, long out);

    static native int swiglu(long gate, long up, long n, long out);

    static native int add(long acc, long x, long n);

    /** x [tokens, heads, headDim] in place; cos, sin [tokens, headDim / 2]. */
    static native int rope(long x, int tokens, int heads, int headDim, long cos, long sin);

    /** out [tokens, n] = x [tokens, k] * w^T (w bf16 [n, k]) + bias (f32 [n], or 0 for none). */
    static native int matvecBf16(long x, int tokens, long w, long bias, int n, int k, long out);

    /** out [tokens, n] on tensor cores (mode 0 PRECISE: x split into bf16 hi + lo; 1 FAST); K % 16 != 0 falls back. */
    static native int gemmBf16(long x, int tokens, long w, long bias, int n, int k, long out, int mode);

    /** out [tokens, hidden] (f32) = table bf16 [vocab, hidden] rows at ids (device int [tokens]). */
    static native int embedBf16(long table, long ids, int tokens, int hidden, long out);

    // Attention batches: device int arrays rowSeq [rows], rowPos [rows], seqBt [sequences] (offset of each
    // sequence's block table in blockTables); the cache is [numBlocks, blockSize, kvDim], f32 or (kvBf16) bf16.

    /** k, v [rows, kvDim] into the cache slots of each row's (sequence, position); bf16 rounds to nearest even. */
    static native int storeKv(long k, long v, int rows, int kvDim, long rowSeq, long rowPos, long seqBt,
                              long blockTables, int blockSize, long keys, long values, boolean kvBf16);

    /** Floats of split-K workspace that {@link #attention} needs for this shape (0: none). */
    static native long attentionWorkspaceFloats(int rows, int qHeads, int kvHeads, int headDim, int maxLength);

    /**
     * Causal GQA over the cache (split-K kernel): q, out [batch rows, qHeads * headDim]; with rowMap (device int
     * [rows]) only those batch rows, else rows 0 .. rows - 1; maxLength = the longest served row's position + 1.
     */
    static native int attention(long q, long out, int rows, int qHeads, int kvHeads, int headDim, float scale,
                                int maxLength, long rowSeq, long rowPos, long seqBt, long blockTables, int blockSize,
                                long keys, long values, long workspace, long rowMap, boolean kvBf16);

    /** Whether a flash prefill tile of {@code tileRows} rows fits the kernel (sl_flash_prefill_fits). */
    static native boolean flashPrefillFits(int tileRows, int qHeads, int kvHeads, int headDim);

    /**
     * Flash-style prefill attention over {@code tiles} (device int [2 * tileCount]: first batch row, row count
     * &lt;= tileRows, consecutive rows of one sequence), K/V streamed once per (tile, kv head).
     */
    static native int flashPrefill(long q, long out, long tiles, int tileCount, int tileRows, int qHeads,
                                   int kvHeads, int headDim, float scale, long rowSeq, long rowPos, long seqBt,
                                   long blockTables, int blockSize, long keys, long values, boolean kvBf16);

    /** ids (device int [rows]) = argmax of each logits row [vocab], lowest id on ties. */
    static native int argmax(long logits, int rows, int vocab, long ids);

    /**
     * ids (device int [rows]) = argmax of the first n values of each logits row (stride floats apart), lowest id on
     * ties; logprobs (device float [rows]) = the chosen value's log-softmax over those n values.
     */
    static native int argmaxLogprob(long logits, int rows, int stride, int n, long ids, long logprobs);

    /**
     * The argmax of each row's first n values with the top {@code top} (1..20, at most n) ids and values and what the
     * host's log-probs need: out (device int [rows, 6 + 2 x top]); layout in {@link DeviceTopLogprobs}.
     */
    static native int argmaxTop(long logits, int rows, int stride, int n, int top, long out);

    /**
     * A temperature draw per row over its first n values (rows stride floats apart) with the host Sampler's rule:
     * invTemperature f32, topK int, topP, minP and u f64, penalty f32 [rows, 3] (repetition, frequency, presence),
     * editStart int [rows + 1], then per edit editId, editKind, editCount int and editBias f32 ({@code DrawEdits});
     * scratch (f32 [rows, n], may be 0 without edits) holds the edited rows; out (device int [rows, 6]): id, flags,
     * max, the id's value, log-sum ({@link DeviceDraws}).
     */
    static native int sample(long logits, int rows, int stride, int n, long invTemperature, long topK, long topP,
                             long minP, long u, long penalty, long editStart, long editId, long editKind,
                             long editBias, long editCount, long scratch, long out);
}
