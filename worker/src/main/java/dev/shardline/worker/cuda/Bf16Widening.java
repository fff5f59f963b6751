package dev.shardline.worker.cuda;

import dev.shardline.model.tensor.WeightTensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Rows of any weight (a block type included) as bf16 bits: the exact dequantized value, rounded to nearest even. */
final class Bf16Widening {
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Bf16Widening() {
    }

    /** Rows [first, first + rows) of matrix {@code t} into {@code dst} as bf16, row-major. */
    static void rows(WeightTensor t, int first, int rows, MemorySegment dst) {
        int cols = t.cols();
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            t.read((long) (first + r) * cols, row);
            long base = 2L * cols * r;
            for (int i = 0; i < cols; i++) {
                dst.set(SHORT_LE, base + 2L * i, WeightTensor.floatToBf16(row[i]));
            }
        }
    }
}
