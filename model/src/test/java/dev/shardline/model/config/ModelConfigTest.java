package dev.shardline.model.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelConfigTest {
    /** QwQ-32B's config.json (facts file, section 1.1), with a placeholder for extra fields. */
    static final String QWQ = """
            {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
             "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 5120, "initializer_range": 0.02,
             "intermediate_size": 27648, "max_position_embeddings": 131072, "max_window_layers": 64,
             "model_type": "qwen2", "num_attention_heads": 40, "num_hidden_layers": 64, "num_key_value_heads": 8,
             "rms_norm_eps": 1e-05, "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": false,
             "torch_dtype": "bfloat16", "transformers_version": "4.43.1", "use_cache": true,
             "use_sliding_window": false, "vocab_size": 152064%s}""";

    static ModelConfig parse(String extra) {
        return ModelConfig.parse("config.json", QWQ.formatted(extra));
    }

    @Test
    void readsQwq32b() {
        ModelConfig c = parse("");
        assertEquals(5120, c.hiddenSize());
        assertEquals(128, c.headDim());
        assertEquals(1024, c.kvDim());
        assertEquals(5, c.groupSize());
        assertEquals(64, c.numHiddenLayers());
        assertEquals(152064, c.vocabSize());
        assertEquals(1e-5, c.rmsNormEps());
        assertEquals(List.of(151645), c.eosTokenIds());
        assertEquals(false, c.tieWordEmbeddings());
        assertNull(c.ropeScaling());
    }

    @Test
    void readsYarnAsVllmDoes() {
        RopeScaling y = parse(", \"rope_scaling\": {\"factor\": 4.0, \"original_max_position_embeddings\": 32768, \"type\": \"yarn\"}").ropeScaling();
        assertEquals(4.0, y.factor());
        assertEquals(32768, y.originalMaxPositionEmbeddings());
        assertEquals(0.1 * Math.log(4) + 1, y.attentionFactor(), 1e-12);
        assertNull(parse(", \"rope_scaling\": null").ropeScaling());
    }

    @Test
    void roundTripsThroughConfigJson() {
        ModelConfig c = parse(", \"rope_scaling\": {\"factor\": 4.0, \"original_max_position_embeddings\": 32768, \"type\": \"yarn\"}");
        assertEquals(c, ModelConfig.parse("again", dev.shardline.model.json.Json.write(c.toJsonMap())));
    }

    @Test
    void unsupportedValuesNameTheFieldAndValue() {
        String llama = QWQ.formatted("").replace("\"model_type\": \"qwen2\"", "\"model_type\": \"llama\"");
        assertMessage(() -> ModelConfig.parse("config.json", llama), "model_type", "llama");
        assertMessage(() -> parse(", \"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2.0}"), "rope_scaling.type", "dynamic");
        String badHeads = QWQ.formatted("").replace("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 7");
        assertMessage(() -> ModelConfig.parse("config.json", badHeads), "num_key_value_heads", "7");
        String badHidden = QWQ.formatted("").replace("\"num_attention_heads\": 40", "\"num_attention_heads\": 48");
        assertMessage(() -> ModelConfig.parse("config.json", badHidden), "num_attention_heads", "48");
        String noHidden = QWQ.formatted("").replace("\"hidden_size\": 5120,", "");
        assertMessage(() -> ModelConfig.parse("config.json", noHidden), "hidden_size", "missing");
        String wrongType = QWQ.formatted("").replace("\"hidden_size\": 5120", "\"hidden_size\": \"big\"");
        assertMessage(() -> ModelConfig.parse("config.json", wrongType), "hidden_size", "big");
        assertMessage(() -> ModelConfig.parse("config.json", "{not json"), "config.json", "line 1");
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable e, String... parts) {
        ModelConfigException ex = assertThrows(ModelConfigException.class, e);
        for (String p : parts) {
            assertTrue(ex.getMessage().contains(p), "\"" + ex.getMessage() + "\" should mention " + p);
        }
    }
}
