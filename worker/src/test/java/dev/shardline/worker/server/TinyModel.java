package dev.shardline.worker.server;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.json.Json;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import dev.shardline.worker.config.WorkerConfig;
import dev.shardline.worker.stage.StageExecutor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A seeded 3-layer Qwen2 (hidden 64, 4/2 heads, vocab 512) written to a directory, and workers for it. */
final class TinyModel {
    static final ModelConfig CONFIG = new ModelConfig("qwen2", 64, 128, 3, 4, 2, 512, 1e-6, 1e6, 4096, false, null,
            "silu", "bfloat16", 0, List.of(1));

    private TinyModel() {
    }

    static void write(Path dir) throws IOException {
        DemoCheckpointWriter.writeWeights(CONFIG, dir, 1, 7, null);
        Files.writeString(dir.resolve("config.json"), Json.writePretty(CONFIG.toJsonMap()));
    }

    /** A worker config on a free loopback port, reference kernels, one thread. */
    static WorkerConfig worker(Path dir, String coordinator, String id) {
        return new WorkerConfig(id, coordinator, "127.0.0.1", 0, dir, "reference", 1, 1L << 30, "mmap",
                WorkerConfig.DEFAULT_DRAIN_TIMEOUT_MS);
    }

    /** The whole model in one process, with the same kernels as the test workers. */
    static StageExecutor wholeModel(Path dir, int kvBlocks, int blockSize, int vocabLimit, List<AutoCloseable> opened) {
        ModelWeights w = CheckpointLoader.load(dir, CONFIG, LayerRange.whole(3), null);
        opened.add(w);
        LayerRange range = LayerRange.whole(3);
        return new StageExecutor(new Qwen2Forward(w, new ReferenceKernels()), KvCache.onHeap(CONFIG, range, kvBlocks,
                blockSize), vocabLimit);
    }
}
