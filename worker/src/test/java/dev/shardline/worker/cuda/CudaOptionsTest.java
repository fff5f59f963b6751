package dev.shardline.worker.cuda;

import dev.shardline.model.config.ConfigKeyException;
import dev.shardline.worker.config.WorkerConfig;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The worker's CUDA options and the driver check, parsed and decided without a GPU. */
class CudaOptionsTest {

    private static WorkerConfig parse(Map<String, String> env, String... flags) {
        Map<String, String> f = new HashMap<>(Map.of("coordinator", "127.0.0.1:1", "model", "/tmp/m"));
        for (int i = 0; i < flags.length; i += 2) f.put(flags[i], flags[i + 1]);
        return WorkerConfig.parse(env, f);
    }

    @Test
    void cudaDeviceDefaultsToZeroAndComesFromTheFlagOrTheEnvironment() {
        WorkerConfig plain = parse(Map.of());
        assertEquals(new WorkerConfig.Cuda(0, false, null), plain.cuda());
        assertEquals(3, parse(Map.of(), "backend", "cuda", "cuda-device", "3").cuda().device());
        assertEquals(2, parse(Map.of("SHARDLINE_WORKER_CUDA_DEVICE", "2")).cuda().device());
        assertEquals(1, parse(Map.of("SHARDLINE_WORKER_CUDA_DEVICE", "2"), "cuda-device", "1").cuda().device(),
                "a flag wins over the environment");
        assertTrue(parse(Map.of(), "cuda-debug-sync", "true").cuda().debugSync());
        assertFalse(parse(Map.of("SHARDLINE_WORKER_CUDA_DEBUG_SYNC", "false")).cuda().debugSync());
    }

    @Test
    void cudaSamplingDefaultsToTheDeviceAndNarrowsToGreedyOrHost() {
        assertEquals(DeviceSampling.DEVICE, parse(Map.of()).cuda().sampling());
        assertEquals(DeviceSampling.GREEDY, parse(Map.of(), "cuda-sampling", "greedy").cuda().sampling());
        assertEquals(DeviceSampling.HOST, parse(Map.of("SHARDLINE_WORKER_CUDA_SAMPLING", "host")).cuda().sampling());
        ConfigKeyException bad = assertThrows(ConfigKeyException.class, () -> parse(Map.of(), "cuda-sampling", "gpu"));
        assertTrue(bad.getMessage().contains("cuda-sampling") && bad.getMessage().contains("gpu"), bad.getMessage());

        int[] argmaxCalls = {0};
        dev.shardline.model.forward.DeviceSampler kernels = new dev.shardline.model.forward.DeviceSampler() {
            @Override
            public void argmaxLogprob(dev.shardline.model.kernels.Activations logits, int rows, int stride, int n,
                                      int[] ids, float[] logprobs) {
                argmaxCalls[0]++;
            }

            @Override
            public int maxTopLogprobs() {
                return 20;
            }

            @Override
            public boolean draws() {
                return true;
            }
        };
        assertTrue(DeviceSampling.DEVICE.apply(kernels) == kernels, "device: the kernels as they are");
        assertNull(DeviceSampling.HOST.apply(kernels), "host: no device sampler");
        assertNull(DeviceSampling.DEVICE.apply(null), "no GPU: no device sampler");
        dev.shardline.model.forward.DeviceSampler greedy = DeviceSampling.GREEDY.apply(kernels);
        assertFalse(greedy.draws(), "greedy: draws go to the host");
        assertEquals(20, greedy.maxTopLogprobs());
        greedy.argmaxLogprob(null, 1, 1, 1, new int[1], new float[1]);
        assertEquals(1, argmaxCalls[0], "greedy: the argmax still runs on the device");
    }

    @Test
    void cudaGraphsAreOffByDefaultAndTheirMaximumIsAPowerOfTwo() {
        WorkerConfig plain = parse(Map.of());
        assertFalse(plain.cuda().graphs());
        assertEquals(32, plain.cuda().graphMaxBatch());
        assertFalse(plain.cuda().graphPlan().enabled());
        WorkerConfig on = parse(Map.of("SHARDLINE_WORKER_CUDA_GRAPHS", "true"), "backend", "cuda",
                "cuda-graph-max-batch", "64");
        assertTrue(on.cuda().graphs());
        assertEquals(64, on.cuda().graphPlan().maxBatch());
        assertEquals(64, on.cuda().graphPlan().choose(40, 40).bucket());
        assertFalse(parse(Map.of(), "cuda-graphs", "true", "cuda-debug-sync", "true").cuda().graphPlan()
                .choose(1, 1).graph(), "debug synchronisation cannot be captured");
        assertTrue(on.cuda().graphPlan().head(), "the head joins the graphs by default");
        assertFalse(parse(Map.of(), "cuda-graphs", "true", "cuda-graph-head", "false").cuda().graphPlan().head());
        ConfigKeyException head = assertThrows(ConfigKeyException.class,
                () -> parse(Map.of(), "cuda-graph-head", "yes"));
        assertTrue(head.getMessage().contains("cuda-graph-head") && head.getMessage().contains("yes"),
                head.getMessage());
        ConfigKeyException yes = assertThrows(ConfigKeyException.class, () -> parse(Map.of(), "cuda-graphs", "on"));
        assertTrue(yes.getMessage().contains("cuda-graphs") && yes.getMessage().contains("on"), yes.getMessage());
        for (String bad : new String[] {"0", "24", "512"}) {
            ConfigKeyException e = assertThrows(ConfigKeyException.class,
                    () -> parse(Map.of(), "cuda-graph-max-batch", bad));
            assertTrue(e.getMessage().contains("cuda-graph-max-batch") && e.getMessage().contains(bad), e.getMessage());
        }
    }

    @Test
    void badCudaOptionsFailNamingTheKey() {
        ConfigKeyException negative = assertThrows(ConfigKeyException.class, () -> parse(Map.of(), "cuda-device", "-1"));
        assertTrue(negative.getMessage().contains("cuda-device") && negative.getMessage().contains("-1"),
                negative.getMessage());
        ConfigKeyException word = assertThrows(ConfigKeyException.class, () -> parse(Map.of(), "cuda-device", "one"));
        assertTrue(word.getMessage().contains("cuda-device"), word.getMessage());
        ConfigKeyException sync = assertThrows(ConfigKeyException.class,
                () -> parse(Map.of(), "cuda-debug-sync", "yes"));
        assertTrue(sync.getMessage().contains("cuda-debug-sync") && sync.getMessage().contains("yes"), sync.getMessage());
    }

    @Test
    void kvDtypeDefaultsToBf16AndHalvesTheCacheOfACudaWorkerOnly() {
        WorkerConfig plain = parse(Map.of(), "backend", "cuda");
        assertEquals(KvDtype.BF16, plain.cuda().kvDtype());
        assertEquals(2, plain.kvElementBytes());
        WorkerConfig f32 = parse(Map.of("SHARDLINE_WORKER_CUDA_KV_DTYPE", "F32"), "backend", "cuda");
        assertEquals(KvDtype.F32, f32.cuda().kvDtype());
        assertEquals(4, f32.kvElementBytes());
        assertEquals(KvDtype.BF16, parse(Map.of("SHARDLINE_WORKER_CUDA_KV_DTYPE", "f32"), "cuda-kv-dtype", "bf16")
                .cuda().kvDtype(), "a flag wins over the environment");
        assertEquals(4, parse(Map.of(), "backend", "cpu", "cuda-kv-dtype", "bf16").kvElementBytes(),
                "the host backends' caches are f32 whatever the key says");
        ConfigKeyException bad = assertThrows(ConfigKeyException.class, () -> parse(Map.of(), "cuda-kv-dtype", "fp8"));
        assertTrue(bad.getMessage().contains("cuda-kv-dtype") && bad.getMessage().contains("fp8")
                && bad.getMessage().contains("bf16 or f32"), bad.getMessage());
    }

    @Test
    void cudaVisibleDevicesBoundsTheDeviceOfACudaWorkerOnly() {
        Map<String, String> twoVisible = Map.of("CUDA_VISIBLE_DEVICES", "2,3");
        WorkerConfig ok = parse(twoVisible, "backend", "cuda", "cuda-device", "1");
        assertEquals("2,3", ok.cuda().visibleDevices());
        assertEquals(" (CUDA_VISIBLE_DEVICES=2,3: physical GPU 3)",
                CudaDeviceSelection.physical(ok.cuda().device(), ok.cuda().visibleDevices()));
        ConfigKeyException e = assertThrows(ConfigKeyException.class,
                () -> parse(twoVisible, "backend", "cuda", "cuda-device", "2"));
        assertTrue(e.getMessage().contains("cuda-device") && e.getMessage().contains("CUDA_VISIBLE_DEVICES=2,3")
                && e.getMessage().contains("devices 0..1"), e.getMessage());
        ConfigKeyException hidden = assertThrows(ConfigKeyException.class,
                () -> parse(Map.of("CUDA_VISIBLE_DEVICES", "-1"), "backend", "cuda"));
        assertTrue(hidden.getMessage().contains("no GPU visible"), hidden.getMessage());
        // a CPU worker may hide every GPU
        assertEquals("cpu", parse(Map.of("CUDA_VISIBLE_DEVICES", ""), "backend", "cpu").backend());
    }

    @Test
    void visibleDevicesFollowTheRuntimesRules() {
        assertNull(CudaDeviceSelection.visible(null), "unset: every GPU");
        assertEquals(List.of(), CudaDeviceSelection.visible(""));
        assertEquals(List.of("0", "1"), CudaDeviceSelection.visible("0, 1"));
        assertEquals(List.of("1"), CudaDeviceSelection.visible("1,-1,2"), "the runtime stops at an invalid entry");
        assertEquals(List.of("GPU-8a1b", "MIG-77"), CudaDeviceSelection.visible("GPU-8a1b,MIG-77"));
        assertNull(CudaDeviceSelection.runtimeProblem(1, 2, null));
        assertEquals("--cuda-device 2 does not exist: the CUDA runtime sees 2 GPU(s) (CUDA_VISIBLE_DEVICES=0,1)",
                CudaDeviceSelection.runtimeProblem(2, 2, "0,1"));
        assertEquals("", CudaDeviceSelection.physical(0, null));
    }

    @Test
    void theDriverCheckSaysWhatIsMissing() {
        assertNull(CudaDriverCheck.problem(13000, 13000));
        assertNull(CudaDriverCheck.problem(13020, 13000), "a newer driver runs an older runtime");
        assertNull(CudaDriverCheck.problem(13000, 13010), "minor-version compatibility within CUDA 13");
        String none = CudaDriverCheck.problem(0, 13000);
        assertTrue(none.startsWith("no NVIDIA driver found") && none.contains("runtime 13.0")
                && none.contains("R580"), none);
        String old = CudaDriverCheck.problem(12040, 13000);
        assertTrue(old.startsWith("the NVIDIA driver supports CUDA 12.4 only") && old.contains("update the driver"), old);
        assertEquals("12.4", CudaDriverCheck.version(12040));
    }

    @Test
    void theProbeReportsTheDriverCheckOnThisMachine() {
        CudaAvailability probe = CudaRuntime.probe();
        if (!probe.libraryLoaded()) {
            assertEquals(0, probe.runtimeVersion());
            return;
        }
        assertTrue(probe.runtimeVersion() >= 12000, "runtime " + probe.runtimeVersion());
        if (probe.usable()) {
            assertEquals(probe.deviceCount(), probe.details().size());
            CudaDevice d = probe.details().getFirst();
            assertTrue(d.totalBytes() > 0 && d.major() >= 1, d.toString());
            assertTrue(probe.message().contains("driver CUDA"), probe.message());
        } else if (probe.driverVersion() == 0) {
            // here: nvcc without a driver; the message says what is missing before the runtime's own words
            assertTrue(probe.message().startsWith("no NVIDIA driver found"), probe.message());
            CudaUnavailableException e = assertThrows(CudaUnavailableException.class,
                    () -> CudaBackend.requireUsable(0, false));
            assertTrue(e.getMessage().startsWith("backend cuda: no usable GPU: no NVIDIA driver found"), e.getMessage());
        }
    }

    @Test
    void deviceDescriptionsNameMemoryAndComputeCapability() {
        CudaDevice h200 = new CudaDevice(1, "NVIDIA H200", 150_000_000_000L, 9, 0, 132);
        assertEquals("GPU 1: NVIDIA H200, 139.7 GiB, compute capability 9.0, 132 SMs", h200.describe());
        assertNull(h200.unsupported());
        CudaDevice t4 = new CudaDevice(0, "Tesla T4", 16L << 30, 7, 5, 40);
        assertTrue(t4.unsupported().contains("older than compute capability 8.0"), t4.unsupported());
    }
}
