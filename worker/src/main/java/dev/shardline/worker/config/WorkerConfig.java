package dev.shardline.worker.config;

import dev.shardline.model.config.ConfigKeyException;
import dev.shardline.model.config.ConfigKeys;
import dev.shardline.worker.cuda.CudaDeviceSelection;
import dev.shardline.worker.cuda.DecodeGraphPlan;
import dev.shardline.worker.cuda.DeviceSampling;
import dev.shardline.worker.cuda.KvDtype;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Everything a worker process is configured with, parsed once at start from {@code SHARDLINE_WORKER_*} environment
 * variables overlaid by command-line flags (same names in kebab case). Unknown keys fail at once.
 *
 * @param workerId         unique, stable name of the worker (default: the host name, from {@code HOSTNAME} or the
 *                         system, so a Kubernetes pod registers under its pod name)
 * @param coordinator      host:port of the coordinator's gRPC endpoint
 * @param host             address this worker listens on and advertises (default 127.0.0.1)
 * @param port             gRPC port (0 picks a free one)
 * @param model            checkpoint directory (the worker maps only its layer range)
 * @param backend          cpu | cpu-int8 | reference | cuda (cuda: checked at start, fails when no GPU is usable)
 * @param threads          compute threads (0 = all cores)
 * @param memoryBudgetBytes how many bytes of weights + KV cache this worker may hold (default: all RAM)
 * @param weights          copy (default: weights copied into process memory, faster decode) or mmap (in place)
 * @param drainTimeoutMs   after a drain was requested (SIGTERM), how long to wait for the coordinator to finish it
 *                         before stopping anyway (default 120000)
 * @param cuda             backend cuda's options: {@code cuda-device}, {@code cuda-debug-sync}, {@code cuda-kv-dtype},
 *                         {@code cuda-graphs}, {@code cuda-graph-max-batch}, {@code cuda-graph-head},
 *                         {@code cuda-sampling}
 * @param loadNice         nice value (0..19) of the thread that reads and copies weights at load, so that a load
 *                         yields the cores to stages serving on the same host (default 10; 0 keeps the worker's own)
 */
public record WorkerConfig(String workerId, String coordinator, String host, int port, Path model, String backend,
                           int threads, long memoryBudgetBytes, String weights, long drainTimeoutMs, Cuda cuda,
                           int loadNice) {

    public static final Set<String> KEYS = Set.of("worker-id", "coordinator", "host", "port", "model", "backend",
            "threads", "memory-budget", "weights", "drain-timeout-ms", "cuda-device", "cuda-debug-sync",
            "cuda-kv-dtype", "cuda-graphs", "cuda-graph-max-batch", "cuda-graph-head", "cuda-sampling",
            "load-nice");

    /** Default of load-nice. */
    public static final int DEFAULT_LOAD_NICE = 10;

    /**
     * Backend cuda's options.
     *
     * @param device         {@code cuda-device}: index among the GPUs this process sees (default 0); with
     *                       {@code CUDA_VISIBLE_DEVICES=2,3}, device 1 is physical GPU 3
     * @param debugSync      {@code cuda-debug-sync}: synchronise and check after every kernel launch, so a fault
     *                       names the op that caused it (slow; default false: a fault names the last launched op)
     * @param visibleDevices the process's {@code CUDA_VISIBLE_DEVICES} (null when unset), for checks and logs
     * @param kvDtype        {@code cuda-kv-dtype}: {@code bf16} (default: half the memory) or {@code f32}, how the
     *                       device's KV cache stores keys and values
     * @param graphs         {@code cuda-graphs}: run decode steps' layers as CUDA graphs, one per batch bucket
     *                       (default false until it has run on a GPU)
     * @param graphMaxBatch  {@code cuda-graph-max-batch}: the largest bucket, a power of two in 1..256 (default 32);
     *                       larger decode steps run eagerly
     * @param graphHead      {@code cuda-graph-head}: on the last stage, decode steps whose every token the device
     *                       chooses capture the head (lm_head and sampling) with the layers (default true)
     * @param sampling       {@code cuda-sampling}: {@code device} (default), {@code greedy} or {@code host}: which
     *                       tokens are chosen on the device ({@link DeviceSampling})
     */
    public record Cuda(int device, boolean debugSync, String visibleDevices, KvDtype kvDtype, boolean graphs,
                       int graphMaxBatch, boolean graphHead, DeviceSampling sampling) {
        /** GPU 0, no per-launch synchronisation, every GPU visible, bf16 KV cache, no graphs. */
        public static final Cuda DEFAULT = new Cuda(0, false, null);

        public Cuda {
            if (kvDtype == null) kvDtype = KvDtype.BF16;
            if (sampling == null) sampling = DeviceSampling.DEVICE;
            new DecodeGraphPlan(graphs, graphMaxBatch, debugSync);    // checks the bucket
        }

        /** Without decode graphs. */
        public Cuda(int device, boolean debugSync, String visibleDevices, KvDtype kvDtype) {
            this(device, debugSync, visibleDevices, kvDtype, false, DecodeGraphPlan.DEFAULT_MAX_BATCH, true,
                    DeviceSampling.DEVICE);
        }

        /** Which decode steps run as graphs. */
        public DecodeGraphPlan graphPlan() {
            return new DecodeGraphPlan(graphs, graphMaxBatch, debugSync, graphHead);
        }

        /** With the default bf16 KV cache. */
        public Cuda(int device, boolean debugSync, String visibleDevices) {
            this(device, debugSync, visibleDevices, KvDtype.BF16);
        }
    }

    /** Bytes per cached key or value element on this worker: 2 for backend cuda with a bf16 cache, else 4. */
    public int kvElementBytes() {
        return backend.equals("cuda") ? cuda.kvDtype().bytes() : Float.BYTES;
    }

    /** The configuration without CUDA options (GPU 0, no debug synchronisation). */
    public WorkerConfig(String workerId, String coordinator, String host, int port, Path model, String backend,
                        int threads, long memoryBudgetBytes, String weights, long drainTimeoutMs) {
        this(workerId, coordinator, host, port, model, backend, threads, memoryBudgetBytes, weights, drainTimeoutMs,
                Cuda.DEFAULT, DEFAULT_LOAD_NICE);
    }
    /** Default of drain-timeout-ms. */
    public static final long DEFAULT_DRAIN_TIMEOUT_MS = 120_000;

    public WorkerConfig {
        if (workerId == null || workerId.isBlank()) {
            throw new ConfigKeyException("worker-id", "must not be empty");
        }
        if (coordinator == null || !coordinator.contains(":")) {
            throw new ConfigKeyException("coordinator", "must be host:port, got " + coordinator);
        }
        if (port < 0 || port > 65535) {
            throw new ConfigKeyException("port", "must be 0..65535, got " + port);
        }
        if (!Set.of("cpu", "cpu-int8", "reference", "cuda").contains(backend)) {
            throw new ConfigKeyException("backend", "must be cpu, cpu-int8, reference or cuda, got " + backend);
        }
        if (threads < 0) {
            throw new ConfigKeyException("threads", "must be >= 0, got " + threads);
        }
        if (!Set.of("copy", "mmap").contains(weights)) {
            throw new ConfigKeyException("weights", "must be copy or mmap, got " + weights);
        }
        if (memoryBudgetBytes <= 0) {
            throw new ConfigKeyException("memory-budget", "must be > 0, got " + memoryBudgetBytes);
        }
        if (drainTimeoutMs <= 0) {
            throw new ConfigKeyException("drain-timeout-ms", "must be > 0, got " + drainTimeoutMs);
        }
        if (cuda == null) {
            cuda = Cuda.DEFAULT;
        }
        if (loadNice < 0 || loadNice > 19) {
            throw new ConfigKeyException("load-nice", "must be 0..19, got " + loadNice);
        }
        String device = CudaDeviceSelection.configProblem(cuda.device(),
                backend.equals("cuda") ? cuda.visibleDevices() : null);   // a CPU worker may hide every GPU
        if (device != null) {
            throw new ConfigKeyException("cuda-device", device);
        }
    }

    /**
     * Parses env ({@code SHARDLINE_WORKER_THREADS=2}) then flags ({@code threads=2}); later wins. Without a worker id
     * the host name is the id: env's {@code HOSTNAME}, else the system's.
     */
    public static WorkerConfig parse(Map<String, String> env, Map<String, String> flags) {
        Map<String, String> v = new LinkedHashMap<>();
        ConfigKeys.fromEnv(env, "SHARDLINE_WORKER_", KEYS, v);
        ConfigKeys.fromFlags(flags, KEYS, v);
        int port = ConfigKeys.intValue(v, "port", 0);
        return new WorkerConfig(
                v.containsKey("worker-id") ? v.get("worker-id") : hostName(env),
                ConfigKeys.require(v, "coordinator"),
                v.getOrDefault("host", "127.0.0.1"),
                port,
                Path.of(ConfigKeys.require(v, "model")),
                v.getOrDefault("backend", "cpu"),
                ConfigKeys.intValue(v, "threads", 0),
                ConfigKeys.bytesValue(v, "memory-budget", physicalMemory()),
                v.getOrDefault("weights", "copy"),
                ConfigKeys.intValue(v, "drain-timeout-ms", (int) DEFAULT_DRAIN_TIMEOUT_MS),
                new Cuda(ConfigKeys.intValue(v, "cuda-device", 0), booleanValue(v, "cuda-debug-sync"),
                        env.get("CUDA_VISIBLE_DEVICES"), kvDtypeValue(v), booleanValue(v, "cuda-graphs"),
                        graphMaxBatch(v), !v.containsKey("cuda-graph-head") || booleanValue(v, "cuda-graph-head"),
                        samplingValue(v)),
                ConfigKeys.intValue(v, "load-nice", DEFAULT_LOAD_NICE));
    }

    /** device, greedy or host (absent: device); anything else fails naming the key. */
    private static DeviceSampling samplingValue(Map<String, String> v) {
        String s = v.getOrDefault("cuda-sampling", "device");
        DeviceSampling mode = DeviceSampling.parse(s);
        if (mode == null) {
            throw new ConfigKeyException("cuda-sampling", "must be device, greedy or host, got " + s);
        }
        return mode;
    }

    /** A power of two in 1..256 (absent: 32); anything else fails naming the key. */
    private static int graphMaxBatch(Map<String, String> v) {
        int n = ConfigKeys.intValue(v, "cuda-graph-max-batch", DecodeGraphPlan.DEFAULT_MAX_BATCH);
        if (n < 1 || n > DecodeGraphPlan.LIMIT || Integer.bitCount(n) != 1) {
            throw new ConfigKeyException("cuda-graph-max-batch", "must be a power of two in 1.."
                    + DecodeGraphPlan.LIMIT + ", got " + n);
        }
        return n;
    }

    /** bf16 | f32 (absent: bf16); anything else fails naming the key. */
    private static KvDtype kvDtypeValue(Map<String, String> v) {
        String s = v.get("cuda-kv-dtype");
        if (s == null) return KvDtype.BF16;
        KvDtype d = KvDtype.parse(s);
        if (d == null) throw new ConfigKeyException("cuda-kv-dtype", "must be bf16 or f32, got " + s);
        return d;
    }

    /** true | false (absent: false); anything else fails naming the key. */
    private static boolean booleanValue(Map<String, String> v, String key) {
        String s = v.get(key);
        if (s == null) return false;
        return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new ConfigKeyException(key, "must be true or false, got " + s);
        };
    }

    /** This machine's name: HOSTNAME (a Kubernetes pod's name) when set, else what the system calls it. */
    static String hostName(Map<String, String> env) {
        String h = env.get("HOSTNAME");
        if (h != null && !h.isBlank()) {
            return h.trim();
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            throw new ConfigKeyException("worker-id", "not set, and this machine's host name is unknown ("
                    + e.getMessage() + "): set --worker-id");
        }
    }

    /** This machine's RAM: the default budget when a worker has the machine to itself. */
    public static long physicalMemory() {
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getTotalMemorySize();
        }
        return Runtime.getRuntime().maxMemory();
    }

    public int threadsOrDefault() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }

    /** The keys this config accepts, for error messages. */
    public static String knownKeys() {
        return String.join(", ", new TreeSet<>(KEYS));
    }
}
