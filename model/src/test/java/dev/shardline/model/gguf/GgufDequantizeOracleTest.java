package dev.shardline.model.gguf;

import dev.shardline.model.oracle.OracleData;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;

import static dev.shardline.model.oracle.OracleData.doubles;
import static dev.shardline.model.oracle.OracleData.ints;
import static dev.shardline.model.oracle.OracleData.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every tensor of the GGUF files that llama.cpp's own quantizer wrote (Q8_0; Q4_K_M = Q4_K + Q6_K, F32 norms and
 * biases) dequantizes to gguf-py's numpy values: type, shape, the first 16 values and 32 probes exactly (float),
 * the sum and sum of squares to 1e-6 relative. Both the per-element path ({@code WeightTensor.get}, what the
 * reference backend reads) and the whole-block path ({@code WeightTensor.read}) are checked.
 */
class GgufDequantizeOracleTest {

    @ParameterizedTest
    @ValueSource(strings = {"qwen2-q-q8_0.gguf", "qwen2-q-q4_k_m.gguf"})
    void dequantizedValuesMatchGgufPy(String fileName) {
        Map<String, Object> expected = map(map(OracleData.json("expected-quant.json").get("files")).get(fileName));
        Map<String, Object> tensors = map(expected.get("tensors"));
        try (GgufFile f = GgufFile.open(OracleData.file(fileName))) {
            assertEquals(tensors.keySet(), f.tensors().keySet(), "tensor names");
            int quantized = 0;
            for (Map.Entry<String, Object> e : tensors.entrySet()) {
                Map<String, Object> t = map(e.getValue());
                WeightTensor w = f.tensor(e.getKey(), e.getKey());
                String what = fileName + " " + e.getKey();
                assertEquals(t.get("type"), f.tensors().get(e.getKey()).type().name(), what + " type");
                int[] rowsCols = ints(t.get("shape_rows_cols"));
                assertEquals(rowsCols[0], w.rows(), what + " rows");
                assertEquals(rowsCols.length > 1 ? rowsCols[1] : 1, w.cols(), what + " cols");
                double[] first = doubles(t.get("first16"));
                float[] firstRead = new float[Math.min(16, (int) w.elementCount())];
                for (int i = 0; i < firstRead.length; i++) {
                    assertEquals((float) first[i], w.get(i), 0f, what + " element " + i);
                }
                int[] probes = ints(t.get("probe_index"));
                double[] probeValues = doubles(t.get("probe_value"));
                for (int i = 0; i < probes.length; i++) {
                    assertEquals((float) probeValues[i], w.get(probes[i]), 0f, what + " element " + probes[i]);
                }
                float[] all = new float[(int) w.elementCount()];
                w.read(0, all);
                double sum = 0;
                double sumSq = 0;
                for (int i = 0; i < all.length; i++) {
                    if (i % 997 == 0) assertEquals(w.get(i), all[i], 0f, what + " block path, element " + i);
                    sum += all[i];
                    sumSq += (double) all[i] * all[i];
                }
                double expSum = ((Number) t.get("sum")).doubleValue();
                double expSq = ((Number) t.get("sum_sq")).doubleValue();
                assertEquals(expSum, sum, 1e-6 * Math.max(1, Math.abs(expSq)), what + " sum");
                assertEquals(expSq, sumSq, 1e-6 * expSq, what + " sum of squares");
                if (w.dtype().quantized()) quantized++;
            }
            assertTrue(quantized >= 15, fileName + ": quantized tensors checked: " + quantized);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen2-q-q4_k_m.gguf"})
    void q4kmHoldsBothBlockTypes(String fileName) {
        try (GgufFile f = GgufFile.open(OracleData.file(fileName))) {
            assertTrue(f.tensors().values().stream().anyMatch(t -> t.type().dtype() == DType.Q4_K));
            assertTrue(f.tensors().values().stream().anyMatch(t -> t.type().dtype() == DType.Q6_K));
        }
    }
}
