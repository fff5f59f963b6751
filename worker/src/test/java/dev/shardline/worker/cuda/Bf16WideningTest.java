package dev.shardline.worker.cuda;

import dev.shardline.model.gguf.GgufModel;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What a CUDA worker uploads for a quantized model (it dequantizes on load): every Q4_K / Q6_K matrix of llama.cpp's
 * Q4_K_M file becomes the bf16 rounding of its exact dequantized values. Runs without a GPU (the copy to the device
 * is the only step left out).
 */
class Bf16WideningTest {
    @Test
    void quantizedMatricesWidenToTheRoundedExactValues() throws Exception {
        Path gguf = Path.of(Bf16WideningTest.class.getResource("/oracle/qwen2-q-q4_k_m.gguf").toURI());
        try (ModelWeights w = GgufModel.open(gguf).load(LayerRange.whole(2), null); Arena arena = Arena.ofConfined()) {
            for (WeightTensor t : List.of(w.embedding(), w.layer(0).qWeight(), w.layer(1).downWeight(), w.lmHead())) {
                MemorySegment dst = arena.allocate(2 * t.elementCount());
                Bf16Widening.rows(t, 0, t.rows(), dst);
                for (long i = 0; i < t.elementCount(); i += 7) {
                    assertEquals(WeightTensor.floatToBf16(t.get(i)),
                            dst.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2 * i),
                            t + " element " + i);
                }
            }
        }
    }
}
