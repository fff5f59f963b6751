package dev.shardline.model.checkpoint;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.json.Json;
import dev.shardline.model.safetensors.CheckpointException;
import dev.shardline.model.safetensors.SafetensorsWriter;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.weights.LayerRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.shardline.model.checkpoint.CheckpointLoaderTest.assertMessage;
import static dev.shardline.model.checkpoint.CheckpointLoaderTest.assertThrowsCk;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CheckpointIndexTest {

    @TempDir
    Path dir;

    private void shard(String file, String... tensors) {
        List<SafetensorsWriter.Tensor> list = new java.util.ArrayList<>();
        for (String t : tensors) {
            list.add(new SafetensorsWriter.Tensor(t, DType.BF16, new long[]{2}, SafetensorsWriter.Filler.bytes(new byte[4])));
        }
        SafetensorsWriter.write(dir.resolve(file), list, null);
    }

    private Path index(Map<String, Object> weightMap) throws IOException {
        Path p = dir.resolve(Checkpoint.INDEX_FILE);
        Files.writeString(p, Json.write(Map.of("metadata", Map.of("total_size", 0L), "weight_map", weightMap)));
        return p;
    }

    private static Map<String, Object> map(String... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return m;
    }

    @Test
    void readsAGoodIndex() throws IOException {
        shard("s1.safetensors", "a", "b");
        shard("s2.safetensors", "c");
        index(map("a", "s1.safetensors", "b", "s1.safetensors", "c", "s2.safetensors"));
        Checkpoint ck = Checkpoint.open(dir);
        assertEquals(dir.resolve("s2.safetensors"), ck.fileOf("c"));
        assertEquals(2, ck.files().size());
        assertEquals(12, ck.totalTensorBytes());
    }

    @Test
    void indexPointsAtMissingShard() throws IOException {
        ModelConfig c = CheckpointLoaderTest.small(2, false);
        DemoCheckpointWriter.writeWeights(c, dir, 3, 1, null);
        Path gone = dir.resolve("model-00002-of-00003.safetensors");
        Files.delete(gone);
        CheckpointException e = assertThrowsCk(() -> CheckpointLoader.load(dir, c, LayerRange.whole(2), null));
        assertMessage(e, dir.resolve(Checkpoint.INDEX_FILE).toString(), "model-00002-of-00003.safetensors",
                "does not exist", "model.layers.");
    }

    @Test
    void truncatedShardNamesShardAndTensor() throws IOException {
        ModelConfig c = CheckpointLoaderTest.small(2, false);
        DemoCheckpointWriter.writeWeights(c, dir, 3, 1, null);
        Path last = dir.resolve("model-00003-of-00003.safetensors");
        try (java.io.RandomAccessFile r = new java.io.RandomAccessFile(last.toFile(), "rw")) {
            r.setLength(r.length() - 10);
        }
        CheckpointException e = assertThrowsCk(() -> CheckpointLoader.load(dir, c, LayerRange.whole(2), null));
        assertMessage(e, last.toString(), "\"lm_head.weight\"", "truncated");
    }

    @Test
    void tensorInTwoShards() throws IOException {
        shard("s1.safetensors", "a", "b");
        shard("s2.safetensors", "b", "c");
        index(map("a", "s1.safetensors", "b", "s1.safetensors", "c", "s2.safetensors"));
        CheckpointException e = assertThrowsCk(() -> Checkpoint.open(dir));
        assertMessage(e, "\"b\"", "two shards", dir.resolve("s1.safetensors").toString(),
                dir.resolve("s2.safetensors").toString());
    }

    @Test
    void indexedTensorAbsentFromItsShard() throws IOException {
        shard("s1.safetensors", "a");
        shard("s2.safetensors", "c");
        index(map("a", "s1.safetensors", "c", "s1.safetensors"));
        CheckpointException e = assertThrowsCk(() -> Checkpoint.open(dir));
        assertMessage(e, "\"c\"", dir.resolve("s1.safetensors").toString(), "does not contain");
    }

    @Test
    void corruptShardBehindIndex() throws IOException {
        shard("s1.safetensors", "a");
        Files.write(dir.resolve("s2.safetensors"), new byte[]{9, 9, 9, 9, 9, 9, 9, 9, 9, 9});
        index(map("a", "s1.safetensors", "c", "s2.safetensors"));
        CheckpointException e = assertThrowsCk(() -> Checkpoint.open(dir));
        assertMessage(e, dir.resolve("s2.safetensors").toString(), "header");
    }

    @Test
    void badIndexFiles() throws IOException {
        Path p = dir.resolve(Checkpoint.INDEX_FILE);
        Files.writeString(p, "{\"weight_map\": {\"a\": \"s1.safetensors\", \"a\": \"s2.safetensors\"}}");
        assertMessage(assertThrowsCk(() -> Checkpoint.open(dir)), p.toString(), "\"a\"");
        Files.writeString(p, "{\"metadata\": {}}");
        assertMessage(assertThrowsCk(() -> Checkpoint.open(dir)), p.toString(), "weight_map");
        index(map("a", "../outside.safetensors"));
        assertMessage(assertThrowsCk(() -> Checkpoint.open(dir)), p.toString(), "\"a\"", "../outside");
    }

    @Test
    void noWeightsAtAll() {
        assertMessage(assertThrowsCk(() -> Checkpoint.open(dir)), dir.toString(), "no weights");
        assertMessage(assertThrowsCk(() -> Checkpoint.open(dir.resolve("nope"))), "nope", "does not exist");
    }

    @Test
    void missingTensorInCheckpoint() throws IOException {
        shard("s1.safetensors", "a");
        index(map("a", "s1.safetensors"));
        assertMessage(assertThrowsCk(() -> Checkpoint.open(dir).fileOf("zz")), "\"zz\"", dir.toString());
    }

    @Test
    void modelDirectoryRequiresConfigJson() throws IOException {
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelDirectory.of(dir));
        assertMessage(e, dir.resolve("config.json").toString(), "missing");
        Files.writeString(dir.resolve("config.json"), Json.write(CheckpointLoaderTest.small(1, false).toJsonMap()));
        ModelDirectory md = ModelDirectory.of(dir);
        assertEquals(CheckpointLoaderTest.small(1, false), md.readConfig());
        assertEquals(dir.resolve("tokenizer_config.json"), md.tokenizerConfigJson());
        assertEquals(dir.resolve("generation_config.json"), md.generationConfigJson());
        assertMessage(assertThrowsCk(md::requireTokenizerJson), dir.resolve("tokenizer.json").toString());
    }
}
