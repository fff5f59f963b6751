package dev.shardline.model.demo;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.json.Json;
import dev.shardline.model.safetensors.SafetensorsWriter;
import dev.shardline.model.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DemoCheckpointWriterTest {

    @TempDir
    Path tmp;

    @Test
    void presetsHaveTheAdvertisedShapes() {
        ModelConfig small = DemoPreset.SMALL.config();
        assertEquals(896, small.hiddenSize());
        assertEquals(24, small.numHiddenLayers());
        assertEquals(64, small.headDim());
        assertTrue(small.tieWordEmbeddings());
        ModelConfig qwq = DemoPreset.QWQ_SLICE.config();
        assertEquals(2, qwq.numHiddenLayers());
        assertEquals(1024, qwq.kvDim());
        assertEquals(152064, qwq.vocabSize());
        assertEquals(1e-5, qwq.rmsNormEps());
        assertEquals(131072, qwq.maxPositionEmbeddings());
        assertEquals(7, DemoPreset.QWQ_SLICE.config(7).numHiddenLayers());
        assertEquals(List.of(151645, 151643), DemoPreset.TINY.config().eosTokenIds());
        assertEquals(DemoPreset.QWQ_SLICE, DemoPreset.fromCliName("qwq-slice"));
    }

    @Test
    void writesTheSideFiles() throws IOException {
        Path tok = tmp.resolve("tok.json");
        Files.writeString(tok, "{\"model\": {}}");
        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        Files.write(out.resolve("model-00001-of-00002.safetensors"), new byte[]{1}); // stale shard from an older run
        List<String> lines = new ArrayList<>();
        ModelConfig c = DemoCheckpointWriter.write(DemoPreset.TINY, 1, out, 1, 3, tok, null, lines::add);
        assertEquals(c, ModelConfig.read(out.resolve("config.json")));
        assertEquals(1, c.numHiddenLayers());
        assertEquals("{\"bos_token_id\":151643,\"do_sample\":true,\"eos_token_id\":[151645,151643],"
                        + "\"pad_token_id\":151643,\"repetition_penalty\":1.0,\"temperature\":0.6,\"top_k\":40,\"top_p\":0.95}",
                Json.write(Json.parse(Files.readString(out.resolve("generation_config.json")))));
        assertEquals("{\"model\": {}}", Files.readString(out.resolve("tokenizer.json")));
        Map<String, Object> tc = Json.parseObject(Files.readString(out.resolve("tokenizer_config.json")));
        String template = (String) tc.get("chat_template");
        assertTrue(template.startsWith("{%- if tools %}"));
        assertTrue(template.endsWith("{%- endif %}"));
        assertTrue(template.contains("'<|im_start|>assistant\\n<think>\\n'"));
        assertEquals("<|im_end|>", tc.get("eos_token"));
        assertEquals(false, tc.get("add_bos_token"));
        Map<?, ?> added = (Map<?, ?>) tc.get("added_tokens_decoder");
        assertEquals(26, added.size());
        assertEquals("<think>", ((Map<?, ?>) added.get("151667")).get("content"));
        assertEquals(false, ((Map<?, ?>) added.get("151667")).get("special"));
        assertEquals(true, ((Map<?, ?>) added.get("151656")).get("special"));
        assertEquals(13, ((List<?>) tc.get("additional_special_tokens")).size());
        assertTrue(Files.readString(out.resolve("README.md")).contains("random"));
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
        assertFalse(Files.exists(out.resolve("model-00001-of-00002.safetensors")));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("model.layers.0.mlp.down_proj.weight")), lines.toString());
    }

    @Test
    void usesAddedTokensFromAnNpmTokenizerConfig() throws IOException {
        Path npm = tmp.resolve("npm.json");
        Files.writeString(npm, "{\"added_tokens_decoder\": {\"151643\": {\"content\": \"<|endoftext|>\"}}}");
        Path out = tmp.resolve("npm-out");
        DemoCheckpointWriter.write(DemoPreset.TINY, 1, out, 1, 3, null, npm, null);
        Map<String, Object> tc = Json.parseObject(Files.readString(out.resolve("tokenizer_config.json")));
        assertEquals(1, ((Map<?, ?>) tc.get("added_tokens_decoder")).size());
        assertFalse(Files.exists(out.resolve("tokenizer.json")));
    }

    @Test
    void gaussianFillIsDeterministicPerNameAndChunked() {
        try (Arena arena = Arena.ofShared()) {
            long n = DemoWeights.CHUNK * 2L + 100;
            MemorySegment a = arena.allocate(n * 2);
            MemorySegment b = arena.allocate(n * 2);
            MemorySegment c = arena.allocate(n * 2);
            DemoWeights.fillGaussian(a, 11, "x", 0.02f);
            DemoWeights.fillGaussian(b, 11, "x", 0.02f);
            DemoWeights.fillGaussian(c, 11, "y", 0.02f);
            assertEquals(-1, a.mismatch(b));
            assertTrue(a.mismatch(c) >= 0);
            // chunk 1 differs from chunk 0 (seeds are per chunk, not repeated)
            assertTrue(a.asSlice(0, 1000).mismatch(a.asSlice(DemoWeights.CHUNK * 2L, 1000)) >= 0);
        }
    }

    @Test
    void shardSplitIsBalancedAndNeverEmpty() {
        List<SafetensorsWriter.Tensor> ts = new ArrayList<>();
        long[] sizes = {1000, 1, 1, 1, 1, 1000, 1, 1000};
        for (int i = 0; i < sizes.length; i++) {
            ts.add(new SafetensorsWriter.Tensor("t" + i, DType.BF16, new long[]{sizes[i]}, t -> { }));
        }
        List<List<SafetensorsWriter.Tensor>> three = DemoCheckpointWriter.split(ts, 3);
        assertEquals(List.of(3, 3, 2), three.stream().map(List::size).toList());
        List<List<SafetensorsWriter.Tensor>> eight = DemoCheckpointWriter.split(ts, 8);
        assertTrue(eight.stream().allMatch(l -> l.size() == 1));
        List<List<SafetensorsWriter.Tensor>> one = DemoCheckpointWriter.split(ts, 1);
        assertEquals(8, one.getFirst().size());
    }
}
