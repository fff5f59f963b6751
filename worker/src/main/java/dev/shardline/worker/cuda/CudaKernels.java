package dev.shardline.worker.cuda;

import dev.shardline.model.forward.DeviceDraw;
import dev.shardline.model.forward.DeviceSampler;
import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.model.sampling.SampledToken;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.weights.LayerWeights;
import dev.shardline.model.weights.ModelWeights;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * Backend {@code cuda}: every {@link Kernels} op as a CUDA kernel on the current GPU, activations and KV cache in
 * device memory ({@link DeviceActivations}), weights uploaded once and kept by tensor identity (matrices bf16,
 * vectors f32). Calls are queued on one non-blocking stream per process; per-step uploads (token ids, the
 * attention batch, sampling parameters) go through pinned staging buffers without a host wait, and {@link #read}
 * (or a sampled id's download) waits for the stream: one synchronisation per step. Decode-sized matmuls
 * (up to {@link #MATVEC_MAX_TOKENS} tokens) read each weight once for all tokens; larger ones run on tensor cores
 * in {@link GemmMode#PRECISE} (default) or {@link GemmMode#FAST}. Attention: prefill chunks of at least
 * {@link PrefillTiling#MIN_ROWS} rows run on the flash prefill kernel (K/V streamed once per tile of query rows),
 * every other row on the split-K kernel. A KV cache from {@link #allocateKv} holds {@link #kvDtype()} elements (bf16
 * by default); caches from {@link #allocate} hold f32. The last stage picks tokens on the device: greedy
 * ({@link #argmaxLogprob}, {@link #argmaxTop}) and temperature draws with the host Sampler's exact rule
 * ({@link #draw}). Not thread-safe: one compute thread per instance.
 */
public final class CudaKernels implements Kernels, DeviceSampler {

    /** How the prefill GEMM feeds f32 activations to the bf16 tensor cores. */
    public enum GemmMode {
        /** x = hi + lo, both bf16, two MMAs: about f32 accuracy (greedy tokens equal the f32 reference). */
        PRECISE,
        /** x rounded to bf16 once: twice the speed, about 3 significant digits. */
        FAST
    }

    /** Matmuls of up to this many tokens use the weight-streaming matvec (the native MATVEC_MAX_TOKENS). */
    public static final int MATVEC_MAX_TOKENS = 16;
    /** Most top log-probs the device reports with a greedy token (the API's limit). */
    public static final int MAX_DEVICE_TOP_LOGPROBS = 20;
    /** Largest top-k sampled on the device; larger values must be sampled on the host. */
    public static final int MAX_DEVICE_TOP_K = 1024;

    private final GemmMode gemmMode;
    private final KvDtype kvDtype;
    private final boolean syncEachLaunch;
    private String lastLaunch;        // the op launched last: named by an asynchronous fault found later
    private final DeviceWeights weights = new DeviceWeights();
    private final java.util.concurrent.atomic.AtomicLong frees = new java.util.concurrent.atomic.AtomicLong();
    private final DeviceBatch batch = new DeviceBatch(new PinnedStaging("attention batch", this::call),
            frees::incrementAndGet);
    private final PinnedStaging idsUp = new PinnedStaging("token ids", this::call);
    private final PinnedStaging idsDown = new PinnedStaging("sampled ids", this::call);
    private final PinnedStaging paramsUp = new PinnedStaging("sampling parameters", this::call);
    private final Set<DeviceActivations.Memory> live = Collections.synchronizedSet(
            Collections.newSetFromMap(new IdentityHashMap<>()));
    private DeviceBuffer ints;        // token ids and sampled ids
    private DeviceBuffer workspace;   // attention split partials
    private DeviceBuffer params;      // sampling parameters
    private DeviceBuffer drawScratch; // rows edited by bias and penalties before a draw
    private DeviceBuffer graphWorkspace;   // attention split partials of padded (graph) steps
    private DeviceBuffer headOut;     // a padded head's results (HeadStaging)
    private DeviceBuffer headParams;  // a padded head's draw parameters, laid out for headEdits edits
    private DeviceBuffer headScratch; // a padded head's edited rows
    private int headEdits;            // the edit capacity headParams is laid out for
    private int padRows;              // > 0: the layer ops of a decode step padded to this bucket
    private int padLength;            // that step's attention launch length (fixes its split count)
    private boolean capturing;        // between beginCapture and endCapture: launches are recorded, not run
    private boolean closed;

    /** PRECISE GEMM. Loads the library; needs a usable GPU (see {@link CudaBackend#create}). */
    public CudaKernels() {
        this(GemmMode.PRECISE);
    }

    public CudaKernels(GemmMode gemmMode) {
        this(gemmMode, false);
    }

    /**
     * @param syncEachLaunch whether the device was selected with a synchronisation after each launch
     *                       ({@link CudaRuntime#select}); only changes how errors are described
     */
    CudaKernels(GemmMode gemmMode, boolean syncEachLaunch) {
        this(gemmMode, syncEachLaunch, KvDtype.BF16);
    }

    /** @param kvDtype what {@link #allocateKv} allocates */
    CudaKernels(GemmMode gemmMode, boolean syncEachLaunch, KvDtype kvDtype) {
        CudaNative.ensureLoaded();
        this.gemmMode = gemmMode;
        this.syncEachLaunch = syncEachLaunch;
        this.kvDtype = java.util.Objects.requireNonNull(kvDtype, "kvDtype");
    }

    /** The element type of the KV caches {@link #allocateKv} makes. */
    public KvDtype kvDtype() {
        return kvDtype;
    }

    @Override
    public String name() {
        return "cuda";
    }

    public GemmMode gemmMode() {
        return gemmMode;
    }

    // --- memory ---

    @Override
    public DeviceActivations allocate(long floats) {
        return allocate(floats, false);
    }

    /**
     * Keys or values of a KV cache layer: {@code elements} of {@link #kvDtype()} (2 bytes each for bf16). Reads and
     * writes of a bf16 buffer convert on the host (round to nearest even, widen); storeKv and attention use it as
     * it is. Pass as {@code KvCache.allocate(cuda::allocateKv, ...)}.
     */
    public DeviceActivations allocateKv(long elements) {
        return allocate(elements, kvDtype == KvDtype.BF16);
    }

    private DeviceActivations allocate(long elements, boolean bf16) {
        if (elements < 0) throw new IllegalArgumentException("allocate: negative size " + elements);
        open();
        noCapture("allocate");
        long ptr = 0;
        long bytes = (bf16 ? 2 : 4) * elements;
        String what = elements + (bf16 ? " bf16" : " floats");
        if (elements > 0) {
            long[] out = new long[1];
            call("cudaMalloc(" + what + ")", CudaNative.malloc(bytes, out));
            ptr = out[0];
            int zero = CudaNative.memsetZero(ptr, bytes);
            if (zero != 0) {
                CudaNative.free(ptr);
                call("cudaMemset(" + what + ")", zero);
            }
        }
        DeviceActivations.Memory memory = new DeviceActivations.Memory(ptr, this);
        live.add(memory);
        return new DeviceActivations(elements, bf16, memory);
    }

    void forget(DeviceActivations.Memory memory) {
        live.remove(memory);
        frees.incrementAndGet();
    }

    /**
     * Counts every free of device memory this instance made or owned (activations, its scratch and batch buffers):
     * a graph captured at one value may read freed memory once it changes, so {@link CudaDecodeGraphs} re-captures.
     */
    long memoryEpoch() {
        return frees.get();
    }

    @Override
    public void write(float[] src, int srcOffset, Activations dst, long dstOffset, int count) {
        java.util.Objects.checkFromIndexSize(srcOffset, count, src.length);
        noCapture("write");
        DeviceActivations d = dev(dst);
        long to = d.at(dstOffset, count, "write");
        if (d.bf16()) {
            short[] bits = new short[count];
            for (int i = 0; i < count; i++) bits[i] = WeightTensor.floatToBf16(src[srcOffset + i]);
            call("write " + count + " bf16 to the device", CudaNative.copyShortsToDevice(bits, 0, to, count));
            return;
        }
        call("write " + count + " floats to the device",
                CudaNative.copyFloatsToDevice(src, srcOffset, to, count));
    }

    @Override
    public void read(Activations src, long srcOffset, float[] dst, int dstOffset, int count) {
        java.util.Objects.checkFromIndexSize(dstOffset, count, dst.length);
        noCapture("read");
        DeviceActivations d = dev(src);
        long from = d.at(srcOffset, count, "read");
        if (d.bf16()) {
            short[] bits = new short[count];
            call("read " + count + " bf16 from the device", CudaNative.copyShortsToHost(from, bits, 0, count));
            for (int i = 0; i < count; i++) dst[dstOffset + i] = WeightTensor.bf16ToFloat(bits[i]);
            return;
        }
        call("read " + count + " floats from the device",
                CudaNative.copyFloatsToHost(from, dst, dstOffset, count));
    }

    @Override
    public void copy(Activations src, long srcOffset, Activations dst, long dstOffset, int count) {
        DeviceActivations s = dev(src);
        DeviceActivations d = dev(dst);
        if (s.bf16() != d.bf16()) {
            throw new IllegalArgumentException("copy: from " + s + " to " + d + ": element types differ");
        }
        long from = s.at(srcOffset, count, "copy");
        long to = d.at(dstOffset, count, "copy");
        if (count > 0) {
            call("copy " + count + (s.bf16() ? " bf16" : " floats") + " on the device",
                    CudaNative.copyDeviceToDevice(from, to, (long) s.elementBytes() * count));
        }
    }

    /**
     * Uploads every tensor of a stage now (rather than at first use), reporting cumulative bytes after each
     * tensor; returns the device bytes the weights hold.
     */
    public long uploadAll(ModelWeights w, LongConsumer bytesDone) {
        prepare(w, bytesDone);
        return weights.bytes();
    }

    /** Uploads every tensor of {@code w} now; see {@link #uploadAll}. */
    @Override
    public void prepare(ModelWeights w, LongConsumer bytesDone) {
        open();
        List<WeightTensor> matrices = new ArrayList<>();
        List<WeightTensor> vectors = new ArrayList<>();
        if (w.embedding() != null) matrices.add(w.embedding());
        for (LayerWeights l : w.layers()) {
            matrices.addAll(List.of(l.qWeight(), l.kWeight(), l.vWeight(), l.oWeight(), l.gateWeight(),
                    l.upWeight(), l.downWeight()));
            vectors.addAll(List.of(l.inputNorm(), l.qBias(), l.kBias(), l.vBias(), l.postNorm()));
        }
        if (w.finalNorm() != null) vectors.add(w.finalNorm());
        if (w.lmHead() != null) matrices.add(w.lmHead());
        for (WeightTensor t : matrices) {
            weights.matrix(t);
            if (bytesDone != null) bytesDone.accept(weights.bytes());
        }
        for (WeightTensor t : vectors) {
            if (t == null) continue;   // a checkpoint without q/k/v biases
            weights.vector(t);
            if (bytesDone != null) bytesDone.accept(weights.bytes());
        }
    }

    /** Device bytes held by uploaded weights. */
    public long weightBytes() {
        return weights.bytes();
    }

    // --- ops ---

    @Override
    public void embed(WeightTensor table, int[] ids, Activations out) {
        int hidden = table.cols();
        int vocab = table.rows();
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] < 0 || ids[t] >= vocab) {
                throw new IllegalArgumentException("embed: token id " + ids[t] + " at row " + t
                        + " outside the vocabulary of " + vocab);
            }
        }
        if (ids.length == 0) return;
        long tableP = weights.matrix(table);
        long outP = dev(out).at(0, (long) ids.length * hidden, "embed");
        noCapture("embed");
        long idsP = ints(ids.length);
        idsUp.begin(4L * ids.length);
        idsUp.putInts(0, ids, 0, ids.length);
        idsUp.upload(idsP, 4L * ids.length);
        launch("embed [" + vocab + ", " + hidden + "] x " + ids.length,
                CudaNative.embedBf16(tableP, idsP, ids.length, hidden, outP));
    }

    @Override
    public void rmsNorm(Activations x, WeightTensor weight, float eps, int tokens, Activations out) {
        int dim = weight.rows();
        long n = (long) tokens * dim;
        launch("rmsNorm [" + tokens + ", " + dim + "]", CudaNative.rmsNorm(dev(x).at(0, n, "rmsNorm"),
                weights.vector(weight), eps, tokens, dim, dev(out).at(0, n, "rmsNorm")));
    }

    @Override
    public void matmul(Activations x, int tokens, WeightTensor w, WeightTensor bias, Activations out) {
        int n = w.rows();
        int k = w.cols();
        if (bias != null && bias.elementCount() != n) {
            throw new IllegalArgumentException("matmul: bias " + bias + " does not match " + w);
        }
        String op = "matmul [" + n + ", " + k + "] x " + tokens;
        if (tokens < 0) throw new IllegalArgumentException(op + ": negative token count");
        long xp = dev(x).at(0, (long) tokens * k, op);
        long op_ = dev(out).at(0, (long) tokens * n, op);
        long wp = weights.matrix(w);
        long bp = weights.vector(bias);
        int code = tokens <= MATVEC_MAX_TOKENS
                ? CudaNative.matvecBf16(xp, tokens, wp, bp, n, k, op_)
                : CudaNative.gemmBf16(xp, tokens, wp, bp, n, k, op_, gemmMode.ordinal());
        launch(op, code);
    }

    @Override
    public void rope(Activations x, int tokens, int heads, int headDim, Activations cos, Activations sin) {
        long half = (long) tokens * (headDim / 2);
        String op = "rope [" + tokens + ", " + heads + ", " + headDim + "]";
        launch(op, CudaNative.rope(dev(x).at(0, (long) tokens * heads * headDim, op), tokens, heads,
                headDim, dev(cos).at(0, half, op), dev(sin).at(0, half, op)));
    }

    @Override
    public void storeKv(Activations k, Activations v, AttentionBatch b, KvLayer kv) {
        useBatch(b, kv);
        int rows = batch.rows();
        int kvDim = kv.kvDim();
        long cache = (long) kv.numBlocks() * kv.blockSize() * kvDim;
        boolean bf16 = cacheBf16(kv);
        String op = "storeKv " + rows + " rows x " + kvDim + (bf16 ? " (bf16 cache)" : "");
        launch(op, CudaNative.storeKv(dev(k).at(0, (long) rows * kvDim, op),
                dev(v).at(0, (long) rows * kvDim, op), rows, kvDim, batch.rowSeq(), batch.rowPos(), batch.seqBt(),
                batch.blockTables(), kv.blockSize(), dev(kv.keys()).at(0, cache, op),
                dev(kv.values()).at(0, cache, op), bf16));
    }

    @Override
    public void attention(Activations q, Activations out, AttentionBatch b, KvLayer kv) {
        if (kv.kvDim() != b.kvHeads() * b.headDim()) {
            throw new IllegalArgumentException("KV layer width " + kv.kvDim() + " != kvHeads x headDim "
                    + b.kvHeads() + " x " + b.headDim());
        }
        if (b.qHeads() % b.kvHeads() != 0) {
            throw new IllegalArgumentException("qHeads " + b.qHeads() + " is not a multiple of kvHeads " + b.kvHeads());
        }
        useBatch(b, kv);
        int rows = batch.rows();
        if (rows == 0) return;
        long qDim = (long) b.qHeads() * b.headDim();
        long cache = (long) kv.numBlocks() * kv.blockSize() * kv.kvDim();
        boolean bf16 = cacheBf16(kv);
        long qp = dev(q).at(0, rows * qDim, "attention");
        long outP = dev(out).at(0, rows * qDim, "attention");
        long keys = dev(kv.keys()).at(0, cache, "attention");
        long values = dev(kv.values()).at(0, cache, "attention");
        String heads = "heads " + b.qHeads() + "/" + b.kvHeads() + " x " + b.headDim() + (bf16 ? ", bf16 cache" : "");
        PrefillTiling tiling = batch.tiling();
        if (tiling.tileCount() > 0) {
            String op = "attention (flash prefill) " + tiling.tileCount() + " tiles of <= " + tiling.tileRows()
                    + " rows, " + heads + ", up to " + batch.maxLength() + " positions";
            launch(op, CudaNative.flashPrefill(qp, outP, batch.tiles(), tiling.tileCount(), tiling.tileRows(),
                    b.qHeads(), b.kvHeads(), b.headDim(), b.scale(), batch.rowSeq(), batch.rowPos(), batch.seqBt(),
                    batch.blockTables(), kv.blockSize(), keys, values, bf16));
        }
        int splitRows = tiling.splitRows().length;
        if (splitRows == 0) return;
        int maxLength = padRows > 0 ? padLength : tiling.splitMaxLength();
        String op = "attention " + splitRows + " rows, " + heads + ", up to " + maxLength + " positions"
                + (padRows > 0 ? " (padded decode step)" : "");
        long need = CudaNative.attentionWorkspaceFloats(splitRows, b.qHeads(), b.kvHeads(), b.headDim(), maxLength);
        long ws = 0;
        if (need > 0 && padRows > 0) {               // staged by stagePadded: never allocated inside a capture
            if (graphWorkspace == null || graphWorkspace.ptr() == 0 || graphWorkspace.bytes() < 4 * need) {
                throw new IllegalStateException(op + ": the padded step's workspace was not staged");
            }
            ws = graphWorkspace.ptr();
        } else if (need > 0) {
            if (workspace == null || workspace.ptr() == 0 || workspace.bytes() < 4 * need) {
                workspace = replace(workspace, 4 * need + (4 * need >> 1));
            }
            ws = workspace.ptr();
        }
        launch(op, CudaNative.attention(qp, outP, splitRows, b.qHeads(), b.kvHeads(), b.headDim(), b.scale(),
                maxLength, batch.rowSeq(), batch.rowPos(), batch.seqBt(), batch.blockTables(), kv.blockSize(), keys,
                values, ws, batch.splitRowMap(), bf16));
    }

    /** The device copy of {@code b} (padded while a padded step runs); never uploaded inside a capture. */
    private void useBatch(AttentionBatch b, KvLayer kv) {
        if (padRows > 0 && !batch.holds(b, padRows)) {
            throw new IllegalStateException("a padded step's layers were given an attention batch that "
                    + "stagePadded did not stage");
        }
        if (capturing && !batch.holds(b, padRows)) noCapture("upload an attention batch");
        batch.use(b, padRows, kv);
    }

    // --- padded decode steps and graphs (CudaDecodeGraphs) ---

    /**
     * Uploads a decode-only batch padded to {@code rows} rows (its padding: position -1) and sizes the attention
     * workspace for {@code launchLength}; until {@link #endPadded}, storeKv and attention use that copy and launch
     * the split kernel with {@code launchLength} (the kernel reads each row's length from the device; the length
     * only fixes the split count). Everything a capture of the layers needs is then in place.
     */
    void stagePadded(AttentionBatch b, int rows, int launchLength, int blockSize, int numBlocks) {
        open();
        noCapture("stage a padded step");
        batch.use(b, rows, blockSize, numBlocks);
        long need = CudaNative.attentionWorkspaceFloats(rows, b.qHeads(), b.kvHeads(), b.headDim(), launchLength);
        if (need > 0 && (graphWorkspace == null || graphWorkspace.ptr() == 0 || graphWorkspace.bytes() < 4 * need)) {
            // at most 1024 (row, kv head, split) blocks when split, so this bound serves every bucket and length:
            // growing it would free memory the graphs captured so far read
            long bound = (long) DecodeGraphPlan.ATTN_TARGET_BLOCKS * (b.qHeads() / b.kvHeads()) * (b.headDim() + 2);
            graphWorkspace = replace(graphWorkspace, 4 * Math.max(need, bound));
        }
        padRows = rows;
        padLength = launchLength;
    }

    /** Back to unpadded steps. */
    void endPadded() {
        padRows = 0;
        padLength = 0;
    }

    /**
     * Stages a padded head of {@code rows} rows over {@code n} values ({@link HeadStaging}): its result buffer and,
     * when it draws ({@code draws} not null: one per padded row), the draws' parameters uploaded into the fixed
     * layout and the edit scratch. Any growth happens here, outside a capture (a free: graphs go stale).
     *
     * @throws IllegalArgumentException for a draw the device cannot make (naming the row and setting)
     */
    void stageHead(int rows, int n, DeviceDraw[] draws) {
        open();
        noCapture("stage a padded head");
        long outBytes = 4L * HeadStaging.outInts(rows);
        if (headOut == null || headOut.ptr() == 0 || headOut.bytes() < outBytes) headOut = replace(headOut, outBytes);
        if (draws == null) return;
        DeviceDraws.check(draws, rows, n, MAX_DEVICE_TOP_K);
        DeviceDraws.Columns c = DeviceDraws.Columns.of(draws, rows);
        int capacity = HeadStaging.editCapacity(c.edits(), headEdits);
        DeviceDraws.Layout at = DeviceDraws.Layout.of(rows, capacity);
        if (capacity != headEdits || headParams == null || headParams.ptr() == 0 || headParams.bytes() < at.bytes()) {
            headParams = replace(headParams, at.bytes());      // another capacity moves offsets: graphs go stale
            headEdits = capacity;
        }
        long scratchBytes = 4L * rows * n;
        if (headScratch == null || headScratch.ptr() == 0 || headScratch.bytes() < scratchBytes) {
            headScratch = replace(headScratch, scratchBytes);
        }
        uploadDrawParams(at, c, rows, headParams.ptr());
    }

    /**
     * The sampling kernels of a padded head staged by {@link #stageHead}, over all {@code rows} rows of
     * {@code logits [rows, stride]}: argmaxLogprob (kind greedy) and the draw (kind drawn) into the fixed result
     * buffer. Launches only: it may be captured.
     */
    void launchHead(Activations logits, int rows, int stride, int n, int kind) {
        String op = "padded head " + rows + " x " + n;
        if (n <= 0 || n > stride) throw new IllegalArgumentException(op + ": need 0 < n <= stride " + stride);
        long lp = dev(logits).at(0, (long) rows * stride, op);
        long need = 4L * HeadStaging.outInts(rows);
        if (headOut == null || headOut.ptr() == 0 || headOut.bytes() < need) {
            throw new IllegalStateException(op + ": the head's result buffer was not staged");
        }
        long out = headOut.ptr();
        if (HeadStaging.greedy(kind)) {
            launch("argmax+logprob " + rows + " x " + n + " (padded head)",
                    CudaNative.argmaxLogprob(lp, rows, stride, n, out, out + 4L * rows));
        }
        if (HeadStaging.drawn(kind)) {
            DeviceDraws.Layout at = DeviceDraws.Layout.of(rows, headEdits);
            if (headParams == null || headParams.ptr() == 0 || headParams.bytes() < at.bytes()
                    || headScratch == null || headScratch.ptr() == 0 || headScratch.bytes() < 4L * rows * n) {
                throw new IllegalStateException(op + ": the head's draws were not staged");
            }
            long p = headParams.ptr();
            launch("draw " + rows + " x " + n + " (padded head)", CudaNative.sample(lp, rows, stride, n,
                    p + at.invTemperature(), p + at.topK(), p + at.topP(), p + at.minP(), p + at.u(),
                    p + at.penalty(), p + at.editStart(), p + at.editId(), p + at.editKind(), p + at.editBias(),
                    p + at.editCount(), headScratch.ptr(), out + 4L * HeadStaging.drawAt(rows)));
        }
    }

    /** The result buffer of a padded head of {@code rows} rows, after its kernels (one copy, one wait). */
    int[] readHead(int rows) {
        noCapture("read a padded head");
        int count = HeadStaging.outInts(rows);
        int[] raw = new int[count];
        idsDown.downloadInts(headOut.ptr(), raw, count);
        return raw;
    }

    /** Starts recording this thread's launches on the stream (nothing runs until the graph is launched). */
    void beginCapture() {
        open();
        noCapture("begin a capture");
        call("cudaStreamBeginCapture", CudaNative.graphBegin());
        capturing = true;
    }

    /** Ends the capture (also after a failure inside it) and instantiates it; returns the executable graph. */
    long endCapture() {
        capturing = false;
        long[] out = new long[1];
        call("cudaStreamEndCapture + cudaGraphInstantiate", CudaNative.graphEnd(out));
        return out[0];
    }

    /** Replays an instantiated graph on the stream (a launch: a later fault names it). */
    void launchGraph(long handle, String op) {
        launch(op, CudaNative.graphLaunch(handle));
    }

    void freeGraph(long handle) {
        if (handle != 0) call("cudaGraphExecDestroy", CudaNative.graphFree(handle));
    }

    private void noCapture(String op) {
        if (capturing) {
            throw new IllegalStateException(op + " inside a graph capture: only launches can be captured");
        }
    }

    /** Whether a layer's cache is bf16; keys and values must agree. */
    private static boolean cacheBf16(KvLayer kv) {
        boolean keys = dev(kv.keys()).bf16();
        if (keys != dev(kv.values()).bf16()) {
            throw new IllegalArgumentException("KV layer: keys " + kv.keys() + " and values " + kv.values()
                    + " differ in element type");
        }
        return keys;
    }

    @Override
    public void swiglu(Activations gate, Activations up, int n, Activations out) {
        launch("swiglu " + n, CudaNative.swiglu(dev(gate).at(0, n, "swiglu"), dev(up).at(0, n, "swiglu"),
                n, dev(out).at(0, n, "swiglu")));
    }

    @Override
    public void add(Activations acc, Activations x, int n) {
        launch("add " + n, CudaNative.add(dev(acc).at(0, n, "add"), dev(x).at(0, n, "add"), n));
    }

    // --- sampling (last stage) ---

    /** Greedy token of each logits row {@code [rows, vocab]}: the largest logit, lowest id on ties. */
    public int[] argmax(Activations logits, int rows, int vocab) {
        String op = "argmax " + rows + " x " + vocab;
        long lp = dev(logits).at(0, (long) rows * vocab, op);
        int[] ids = new int[rows];
        if (rows == 0) return ids;
        long idsP = ints(rows);
        launch(op, CudaNative.argmax(lp, rows, vocab, idsP));
        idsDown.downloadInts(idsP, ids, rows);
        return ids;
    }

    /**
     * Greedy token of each logits row {@code [rows, stride]} over its first {@code n} values (the sampled
     * vocabulary), with its log-probability as {@code Sampler.score} reports it (log-softmax over those n values);
     * only {@code 2 x rows} ints come back (one copy, one wait).
     *
     * @param ids      receives the ids [rows]
     * @param logprobs receives the log-probabilities [rows]
     */
    @Override
    public void argmaxLogprob(Activations logits, int rows, int stride, int n, int[] ids, float[] logprobs) {
        String op = "argmax+logprob " + rows + " x " + n;
        if (n <= 0 || n > stride || ids.length < rows || logprobs.length < rows) {
            throw new IllegalArgumentException(op + ": need 0 < n <= stride " + stride + " and result arrays of "
                    + rows + " rows");
        }
        if (rows == 0) return;
        long lp = dev(logits).at(0, (long) rows * stride, op);
        long out = ints(2 * rows);                     // ids [rows] | f32 log-probs [rows]
        launch(op, CudaNative.argmaxLogprob(lp, rows, stride, n, out, out + 4L * rows));
        int[] both = new int[2 * rows];
        idsDown.downloadInts(out, both, 2 * rows);
        System.arraycopy(both, 0, ids, 0, rows);
        for (int r = 0; r < rows; r++) logprobs[r] = Float.intBitsToFloat(both[rows + r]);
    }

    @Override
    public int maxTopLogprobs() {
        return MAX_DEVICE_TOP_LOGPROBS;
    }

    /**
     * Greedy token of each row (as {@link #argmaxLogprob}) with its {@code top[r]} most likely alternatives and their
     * log-probs as {@code Sampler.score} reports them ({@link DeviceTopLogprobs}: ids exact, log-probs from the
     * host's formula on the device's values and log-sum); null for a row the device declines (a NaN in it, or a
     * signed-zero tie at its last place), which the caller samples on the host. One kernel for all rows, with the
     * largest top asked; {@code rows x (6 + 2 x top)} ints come back in one copy.
     */
    @Override
    public SampledToken[] argmaxTop(Activations logits, int rows, int stride, int n, int[] top) {
        String op = "argmax+top logprobs " + rows + " x " + n;
        if (n <= 0 || n > stride || top.length < rows) {
            throw new IllegalArgumentException(op + ": need 0 < n <= stride " + stride + " and " + rows + " tops");
        }
        int most = 0;
        for (int r = 0; r < rows; r++) {
            if (top[r] < 0 || top[r] > MAX_DEVICE_TOP_LOGPROBS) {
                throw new IllegalArgumentException(op + ": row " + r + " asks for " + top[r]
                        + " top log-probs, the device gives 0.." + MAX_DEVICE_TOP_LOGPROBS);
            }
            most = Math.max(most, Math.min(top[r], n));
        }
        SampledToken[] out = new SampledToken[rows];
        if (rows == 0) return out;
        if (most == 0) {
            int[] ids = new int[rows];
            float[] logprobs = new float[rows];
            argmaxLogprob(logits, rows, stride, n, ids, logprobs);
            for (int r = 0; r < rows; r++) out[r] = new SampledToken(ids[r], logprobs[r]);
            return out;
        }
        long lp = dev(logits).at(0, (long) rows * stride, op);
        int count = rows * DeviceTopLogprobs.rowInts(most);
        long dst = ints(count);
        launch(op, CudaNative.argmaxTop(lp, rows, stride, n, most, dst));
        int[] raw = new int[count];
        idsDown.downloadInts(dst, raw, count);
        for (int r = 0; r < rows; r++) out[r] = DeviceTopLogprobs.decode(raw, r, most, Math.min(top[r], n));
        return out;
    }

    /** The draws' parameters in {@code at}'s layout, through the pinned staging, to device memory at {@code ptr}. */
    private void uploadDrawParams(DeviceDraws.Layout at, DeviceDraws.Columns c, int rows, long ptr) {
        paramsUp.begin(at.bytes());
        paramsUp.putFloats(at.invTemperature(), c.invTemperature(), 0, rows);
        paramsUp.putInts(at.topK(), c.topK(), 0, rows);
        paramsUp.putDoubles(at.topP(), c.topP(), 0, rows);
        paramsUp.putDoubles(at.minP(), c.minP(), 0, rows);
        paramsUp.putDoubles(at.u(), c.u(), 0, rows);
        paramsUp.putFloats(at.penalty(), c.penalty(), 0, 3 * rows);
        paramsUp.putInts(at.editStart(), c.editStart(), 0, rows + 1);
        paramsUp.putInts(at.editId(), c.editId(), 0, c.edits());
        paramsUp.putInts(at.editKind(), c.editKind(), 0, c.edits());
        paramsUp.putFloats(at.editBias(), c.editBias(), 0, c.edits());
        paramsUp.putInts(at.editCount(), c.editCount(), 0, c.edits());
        paramsUp.upload(ptr, at.bytes());
    }

    @Override
    public boolean draws() {
        return true;
    }

    /**
     * A temperature draw per row {@code firstRow + r} of {@code logits [*, stride]}, over its first {@code n}
     * values, with the host {@code Sampler}'s exact rule ({@code DrawWeights}; top-k in 1..{@link #MAX_DEVICE_TOP_K}
     * with top-p over it, or top-k off with top-p 1; min-p; the draw at {@code draws[r].u()}), and the token's
     * log-prob from the raw logits ({@link DeviceDraws}); null for a row the device declines (a NaN, a signed-zero
     * tie at the top-k boundary), which the caller samples on the host. One upload of the parameters, one kernel,
     * {@code rows x 6} ints back.
     *
     * @throws IllegalArgumentException for a draw the device cannot make (naming the row and setting)
     */
    @Override
    public SampledToken[] draw(Activations logits, int firstRow, int rows, int stride, int n, DeviceDraw[] draws) {
        String op = "draw " + rows + " x " + n;
        if (n <= 0 || n > stride || firstRow < 0) {
            throw new IllegalArgumentException(op + ": need 0 < n <= stride " + stride + " and firstRow >= 0");
        }
        DeviceDraws.check(draws, rows, n, MAX_DEVICE_TOP_K);
        SampledToken[] out = new SampledToken[rows];
        if (rows == 0) return out;
        long lp = dev(logits).at((long) firstRow * stride, (long) rows * stride, op);
        DeviceDraws.Columns c = DeviceDraws.Columns.of(draws, rows);
        DeviceDraws.Layout at = DeviceDraws.Layout.of(rows, c.edits());
        if (params == null || params.ptr() == 0 || params.bytes() < at.bytes()) {
            params = replace(params, Math.max(at.bytes(), 4096));
        }
        long p = params.ptr();
        uploadDrawParams(at, c, rows, p);
        long scratch = 0;
        if (c.edits() > 0) {                          // rows with bias or penalties are edited in a copy
            long need = 4L * rows * n;
            if (drawScratch == null || drawScratch.ptr() == 0 || drawScratch.bytes() < need) {
                drawScratch = replace(drawScratch, need);
            }
            scratch = drawScratch.ptr();
        }
        int count = rows * DeviceDraws.ROW_INTS;
        long dst = ints(count);
        launch(op, CudaNative.sample(lp, rows, stride, n, p + at.invTemperature(), p + at.topK(), p + at.topP(),
                p + at.minP(), p + at.u(), p + at.penalty(), p + at.editStart(), p + at.editId(), p + at.editKind(),
                p + at.editBias(), p + at.editCount(), scratch, dst));
        int[] raw = new int[count];
        idsDown.downloadInts(dst, raw, count);
        for (int r = 0; r < rows; r++) out[r] = DeviceDraws.decode(raw, r);
        return out;
    }

    /** Waits for the queued kernels; surfaces asynchronous errors. */
    public void synchronize() {
        call("cudaDeviceSynchronize", CudaNative.synchronize());
    }

    /** Frees the weights, scratch and every activation this instance allocated; idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        List<DeviceActivations.Memory> all;
        synchronized (live) {
            all = new ArrayList<>(live);
        }
        RuntimeException first = null;
        for (Runnable r : all) first = attempt(r, first);
        first = attempt(weights::close, first);
        first = attempt(batch::close, first);
        for (PinnedStaging s : List.of(idsUp, idsDown, paramsUp)) first = attempt(s::close, first);
        for (DeviceBuffer b : Arrays.asList(ints, workspace, params, graphWorkspace, drawScratch, headOut,
                headParams, headScratch)) {
            if (b != null) first = attempt(b::close, first);
        }
        ints = workspace = params = graphWorkspace = drawScratch = headOut = headParams = headScratch = null;
        frees.incrementAndGet();
        if (first != null) throw first;
    }

    // --- helpers ---

    private static RuntimeException attempt(Runnable r, RuntimeException first) {
        try {
            r.run();
        } catch (RuntimeException e) {
            return first == null ? e : first;
        }
        return first;
    }

    private void open() {
        String fatal = CudaRuntime.fatalError();
        if (fatal != null) {
            throw new IllegalStateException("the CUDA backend is closed after a fatal error: " + fatal);
        }
        if (closed) throw new IllegalStateException("cuda kernels are closed");
    }

    /** A kernel launch: remembered as the last one, so a fault found by a later call names it. */
    private void launch(String op, int code) {
        open();
        String before = lastLaunch;
        lastLaunch = op;
        if (code != 0) throw fault(op, code, before);
    }

    /** A copy, allocation or synchronisation: a fault it reports was most likely caused by the last launch. */
    private void call(String op, int code) {
        if (code != 0) throw fault(op, code, lastLaunch);
    }

    /** The exception for a failed call; a sticky error also closes this backend (freeing what still can be). */
    private CudaException fault(String op, int code, String before) {
        CudaException e = CudaRuntime.seen(new CudaException(op, code, CudaNative.errorString(code), before,
                syncEachLaunch));
        if (e.fatal()) {
            try {
                close();
            } catch (RuntimeException ignored) {
                // cudaFree reports the same sticky error; the process is done with this GPU anyway
            }
        }
        return e;
    }

    /** The op launched last (null before the first launch). */
    public String lastLaunch() {
        return lastLaunch;
    }

    private static DeviceActivations dev(Activations a) {
        if (a instanceof DeviceActivations d) return d;
        throw new IllegalArgumentException("the cuda backend was given " + a.getClass().getSimpleName()
                + " activations; allocate them with the same backend's Kernels.allocate");
    }

    /** The device int scratch, at least {@code count} ints. */
    private long ints(int count) {
        if (ints == null || ints.ptr() == 0 || ints.bytes() < 4L * count) ints = replace(ints, Math.max(4096, 8L * count));
        return ints.ptr();
    }

    /** Frees {@code old} (callers test ptr() == 0 should the new allocation fail) and allocates {@code bytes}. */
    private DeviceBuffer replace(DeviceBuffer old, long bytes) {
        noCapture("allocate scratch");
        if (old != null) {
            old.close();
            frees.incrementAndGet();
        }
        return DeviceBuffer.allocate(bytes);
    }
}
