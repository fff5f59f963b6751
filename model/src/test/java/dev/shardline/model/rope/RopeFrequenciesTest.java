package dev.shardline.model.rope;

import dev.shardline.model.config.ModelConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RopeFrequenciesTest {

    private static final String QWQ = """
            {"model_type":"qwen2","hidden_size":5120,"intermediate_size":27648,"num_hidden_layers":64,
             "num_attention_heads":40,"num_key_value_heads":8,"vocab_size":152064,"rms_norm_eps":1e-05,
             "rope_theta":1000000.0,"max_position_embeddings":131072,"tie_word_embeddings":false%s}""";

    @Test
    void plainRopeMatchesTransformersInverseFrequencies() {
        RopeFrequencies r = RopeFrequencies.of(ModelConfig.parse("t", QWQ.formatted("")));
        float[] inv = r.inverseFrequencies();
        assertEquals(64, inv.length);
        assertEquals(1.0f, inv[0]);
        assertEquals(0.8058422f, inv[1], 1e-7f);
        assertEquals(0.64938164f, inv[2], 1e-7f);
        assertEquals(1.2409378e-06f, inv[63], 1e-12f);
        assertEquals(1.0f, r.attentionFactor());
    }

    @Test
    void yarnFollowsVllmForQwq() {
        String yarn = ",\"rope_scaling\":{\"factor\":4.0,\"original_max_position_embeddings\":32768,\"type\":\"yarn\"}";
        RopeFrequencies plain = RopeFrequencies.of(ModelConfig.parse("t", QWQ.formatted("")));
        RopeFrequencies r = RopeFrequencies.of(ModelConfig.parse("t", QWQ.formatted(yarn)));
        assertEquals(23.596, RopeFrequencies.correctionDim(32, 128, 1e6, 32768), 1e-3);
        assertEquals(39.651, RopeFrequencies.correctionDim(1, 128, 1e6, 32768), 1e-3);
        assertEquals(1.1386294361f, r.attentionFactor(), 1e-6f);
        float[] p = plain.inverseFrequencies();
        float[] y = r.inverseFrequencies();
        for (int i = 0; i <= 23; i++) assertEquals(p[i], y[i], p[i] * 1e-6f, "index " + i + " keeps its frequency");
        for (int i = 40; i < 64; i++) assertEquals(p[i] / 4, y[i], p[i] * 1e-6f, "index " + i + " is interpolated by 4");
        double ramp = (30 - 23) / 17.0;  // index 30 sits inside the ramp
        assertEquals(p[30] * (1 - ramp) + p[30] / 4 * ramp, y[30], p[30] * 1e-5);
    }

    @Test
    void tableAppliesTheAttentionFactor() {
        String yarn = ",\"rope_scaling\":{\"factor\":4.0,\"original_max_position_embeddings\":32768,\"type\":\"yarn\"}";
        RopeFrequencies r = RopeFrequencies.of(ModelConfig.parse("t", QWQ.formatted(yarn)));
        float[] cos = new float[2 * 64];
        float[] sin = new float[2 * 64];
        r.table(new int[]{0, 7}, cos, sin);
        assertEquals(1.1386294f, cos[0], 1e-6f);
        assertEquals(0f, sin[0]);
        assertEquals((float) Math.cos(7.0) * 1.1386294f, cos[64], 1e-6f);
    }
}
