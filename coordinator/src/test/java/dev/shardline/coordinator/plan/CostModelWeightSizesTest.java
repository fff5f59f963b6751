package dev.shardline.coordinator.plan;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.source.WeightSizes;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** With the model's stored bytes (a quantized GGUF) the cost model plans on those, not on bytes per weight x shape. */
class CostModelWeightSizesTest {
    static final ModelConfig C = new ModelConfig("qwen2", 256, 512, 3, 4, 2, 512, 1e-6, 1e6, 4096, false, null,
            "silu", "gguf", -1, List.of());

    @Test
    void stagesAreCostedAtTheLargestStoredLayer() {
        WeightSizes sizes = new WeightSizes(List.of(100_000L, 120_000L, 100_000L), 50_000, 1_000, 60_000, false);
        CostModel bf16 = CostModel.of(C, 2, PlanOptions.defaults());
        CostModel quant = CostModel.of(C, 2, PlanOptions.defaults().withWeightSizes(sizes));
        assertEquals(120_000, quant.layerBytes());
        assertEquals(50_000, quant.embeddingBytes());
        assertEquals(1_000 + 60_000, quant.headComputeBytes());
        assertEquals(2 * 120_000 + 50_000 + 1_000 + 60_000, quant.weightBytes(2, true, true));
        assertTrue(bf16.layerBytes() > quant.layerBytes(), "bf16 layers " + bf16.layerBytes());
    }
}
