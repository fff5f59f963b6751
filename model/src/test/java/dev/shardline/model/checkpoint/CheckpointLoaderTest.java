package dev.shardline.model.checkpoint;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.json.Json;
import dev.shardline.model.safetensors.CheckpointException;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.LayerWeights;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointLoaderTest {

    @TempDir
    Path tmp;

    static ModelConfig small(int layers, boolean tied) {
        return new ModelConfig("qwen2", 16, 32, layers, 4, 2, 40, 1e-6, 1e6, 4096, tied, null, "silu", "bfloat16",
                151643, List.of(151645, 151643));
    }

    /** Every tensor of the weights by name (embedding, layers, norm, head). */
    static Map<String, WeightTensor> byName(ModelWeights w) {
        Map<String, WeightTensor> m = new LinkedHashMap<>();
        if (w.embedding() != null) m.put(w.embedding().name(), w.embedding());
        for (LayerWeights l : w.layers()) {
            for (WeightTensor t : List.of(l.inputNorm(), l.qWeight(), l.qBias(), l.kWeight(), l.kBias(), l.vWeight(),
                    l.vBias(), l.oWeight(), l.postNorm(), l.gateWeight(), l.upWeight(), l.downWeight())) {
                m.put(t.name(), t);
            }
        }
        if (w.finalNorm() != null) m.put(w.finalNorm().name(), w.finalNorm());
        if (w.lmHead() != null) m.put(w.lmHead().name(), w.lmHead());
        return m;
    }

    private static List<String> fileNames(ModelWeights w) {
        List<String> out = new ArrayList<>();
        for (Path p : ((MappedCheckpoint) w.mapping()).openedFiles()) out.add(p.getFileName().toString());
        return out;
    }

    @Test
    void shardedAndSingleFileHoldIdenticalTensors() throws Exception {
        Path single = tmp.resolve("single");
        Path sharded = tmp.resolve("sharded");
        ModelConfig c = DemoCheckpointWriter.write(DemoPreset.TINY, -1, single, 1, 42, null, null, null);
        List<String> lines = new ArrayList<>();
        DemoCheckpointWriter.write(DemoPreset.TINY, -1, sharded, 3, 42, null, null, lines::add);
        assertTrue(lines.getLast().contains("lm_head.weight"), lines.getLast());
        for (int k = 1; k <= 3; k++) {
            assertTrue(Files.isRegularFile(sharded.resolve("model-0000" + k + "-of-00003.safetensors")));
        }
        Map<String, Object> index = Json.parseObject(Files.readString(sharded.resolve(Checkpoint.INDEX_FILE)));
        Checkpoint ck = Checkpoint.open(sharded);
        assertEquals(ck.totalTensorBytes(), ((Map<?, ?>) index.get("metadata")).get("total_size"));
        assertEquals(3 + 12 * 4, ck.tensorNames().size());

        List<LoadProgress> progress = new ArrayList<>();
        try (ModelWeights a = CheckpointLoader.load(single, c, LayerRange.whole(4), null);
             ModelWeights b = CheckpointLoader.load(sharded, c, LayerRange.whole(4), progress::add)) {
            Map<String, WeightTensor> ta = byName(a);
            Map<String, WeightTensor> tb = byName(b);
            assertEquals(3 + 12 * 4, ta.size());
            assertEquals(ta.keySet(), tb.keySet());
            for (String name : ta.keySet()) {
                assertEquals(-1, ta.get(name).data().mismatch(tb.get(name).data()), name + " differs");
            }
            assertEquals(3, fileNames(b).size());
            // values: norms are 1, weights look like normal(0, 0.02)
            assertEquals(1.0f, a.finalNorm().get(7));
            assertEquals(1.0f, a.layer(2).postNorm().get(0));
            double sum = 0, sq = 0;
            WeightTensor e = a.embedding();
            int n = 200_000;
            for (int i = 0; i < n; i++) {
                float v = e.get(i * 17L);
                sum += v;
                sq += v * v;
            }
            double mean = sum / n, std = Math.sqrt(sq / n - mean * mean);
            assertTrue(Math.abs(mean) < 0.001, "mean " + mean);
            assertTrue(Math.abs(std - 0.02) < 0.001, "std " + std);
        }
        assertEquals(5, progress.size(), "one report per layer and one for the head");
        LoadProgress last = progress.getLast();
        assertEquals(4, last.layersDone());
        assertEquals(4, last.layersTotal());
        assertEquals(last.bytesTotal(), last.bytesMapped());
        assertEquals("lm_head.weight", last.currentTensor());
        assertEquals(1, progress.getFirst().layersDone());
    }

    @Test
    void differentSeedsGiveDifferentWeights() throws Exception {
        ModelConfig c = small(1, false);
        DemoCheckpointWriter.writeWeights(c, tmp.resolve("a"), 1, 1, null);
        DemoCheckpointWriter.writeWeights(c, tmp.resolve("b"), 1, 2, null);
        try (ModelWeights a = CheckpointLoader.load(tmp.resolve("a"), c, LayerRange.whole(1), null);
             ModelWeights b = CheckpointLoader.load(tmp.resolve("b"), c, LayerRange.whole(1), null)) {
            assertTrue(a.layer(0).qWeight().data().mismatch(b.layer(0).qWeight().data()) >= 0);
            assertTrue(a.layer(0).qWeight().data().mismatch(a.layer(0).oWeight().data()) >= 0);
        }
    }

    @Test
    void middleRangeMapsOnlyItsShard() {
        Path dir = tmp.resolve("tiny3");
        ModelConfig c = DemoCheckpointWriter.write(DemoPreset.TINY, -1, dir, 3, 5, null, null, null);
        try (ModelWeights w = CheckpointLoader.load(dir, c, new LayerRange(1, 3, false, false), null)) {
            assertEquals(List.of("model-00002-of-00003.safetensors"), fileNames(w));
            assertNull(w.embedding());
            assertNull(w.finalNorm());
            assertNull(w.lmHead());
            assertEquals(2, w.layers().size());
            assertEquals(1, w.layer(1).index());
            assertEquals(2, w.layer(2).index());
            Map<String, WeightTensor> t = byName(w);
            assertEquals(24, t.size());
            assertTrue(t.keySet().stream().allMatch(n -> n.startsWith("model.layers.1.") || n.startsWith("model.layers.2.")));
            assertArrayEquals(new long[]{32, 64}, w.layer(1).kWeight().shape());   // [kvDim, hidden]
            assertArrayEquals(new long[]{64, 128}, w.layer(2).downWeight().shape()); // [hidden, intermediate]
        }
        try (ModelWeights first = CheckpointLoader.load(dir, c, new LayerRange(0, 2, true, false), null)) {
            assertNotNull(first.embedding());
            assertNull(first.lmHead());
            assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors"), fileNames(first));
        }
        try (ModelWeights last = CheckpointLoader.load(dir, c, new LayerRange(2, 4, false, true), null)) {
            assertNull(last.embedding());
            assertEquals("model.norm.weight", last.finalNorm().name());
            assertEquals("lm_head.weight", last.lmHead().name());
            assertTrue(!fileNames(last).contains("model-00001-of-00003.safetensors"), fileNames(last).toString());
        }
    }

    @Test
    void tiedEmbeddingsServeAsLmHead() {
        ModelConfig c = small(4, true);
        Path dir = tmp.resolve("tied");
        DemoCheckpointWriter.writeWeights(c, dir, 3, 9, null);
        assertTrue(!Checkpoint.open(dir).has("lm_head.weight"));
        try (ModelWeights last = CheckpointLoader.load(dir, c, new LayerRange(2, 4, false, true), null)) {
            assertNull(last.embedding());
            assertEquals("model.embed_tokens.weight", last.lmHead().name());
            assertTrue(fileNames(last).contains("model-00001-of-00003.safetensors"), "embedding shard mapped");
        }
        try (ModelWeights whole = CheckpointLoader.load(dir, c, LayerRange.whole(4), null)) {
            assertSame(whole.embedding(), whole.lmHead());
        }
    }

    @Test
    void wrongShapeNamesTensorFileAndShapes() {
        Path dir = tmp.resolve("shape");
        DemoCheckpointWriter.writeWeights(small(2, false), dir, 1, 1, null);
        ModelConfig other = new ModelConfig("qwen2", 16, 48, 2, 4, 2, 40, 1e-6, 1e6, 4096, false, null, "silu",
                "bfloat16", 151643, List.of(151645));
        CheckpointException e = assertThrowsCk(() -> CheckpointLoader.load(dir, other, LayerRange.whole(2), null));
        assertMessage(e, "model.layers.0.mlp.gate_proj.weight", dir.resolve("model.safetensors").toString(),
                "[32, 16]", "[48, 16]");
    }

    @Test
    void missingTensorNamesTensorAndDirectory() {
        ModelConfig tied = small(1, true);
        Path dir = tmp.resolve("missing");
        DemoCheckpointWriter.writeWeights(tied, dir, 1, 1, null);   // tied: no lm_head.weight in the file
        CheckpointException e = assertThrowsCk(
                () -> CheckpointLoader.load(dir, small(1, false), LayerRange.whole(1), null));
        assertMessage(e, "lm_head.weight", dir.toString(), "missing");
    }

    @Test
    void rangeBeyondTheModel() {
        Path dir = tmp.resolve("range");
        DemoCheckpointWriter.writeWeights(small(2, false), dir, 1, 1, null);
        CheckpointException e = assertThrowsCk(
                () -> CheckpointLoader.load(dir, small(2, false), new LayerRange(1, 3, false, false), null));
        assertMessage(e, dir.toString(), "[1, 3)");
    }

    static CheckpointException assertThrowsCk(org.junit.jupiter.api.function.Executable x) {
        return org.junit.jupiter.api.Assertions.assertThrows(CheckpointException.class, x);
    }

    static void assertMessage(Exception e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message should contain \"" + p + "\": " + e.getMessage());
        }
    }
}
