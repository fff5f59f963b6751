package dev.shardline.model.kernels;

import dev.shardline.model.tensor.Quant;
import dev.shardline.model.tensor.WeightTensor;

/** Block-type weights widened into float scratch (tiles of the prefill path, embedding rows). */
final class QuantBlocks {
    private QuantBlocks() {
    }

    /** Elements {@code [from, from + n)} of a block-type tensor into {@code dst[dstOff ..]}. */
    static void widen(WeightTensor w, long from, int n, float[] dst, int dstOff) {
        int bs = w.dtype().blockSize();
        if (from % bs == 0 && n % bs == 0) {
            QuantKernels.decode(w.dtype(), w.data(), from / bs, n / bs, dst, dstOff);
            return;
        }
        float[] block = new float[bs];
        long b = from / bs;
        int done = 0;
        while (done < n) {
            Quant.dequantize(w.dtype(), w.data(), b, 1, block, 0);
            int start = (int) (from + done - b * bs);
            int take = Math.min(bs - start, n - done);
            System.arraycopy(block, start, dst, dstOff + done, take);
            done += take;
            b++;
        }
    }
}
