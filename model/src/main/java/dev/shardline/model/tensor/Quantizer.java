package dev.shardline.model.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Float rows into Q8_0, Q4_K and Q6_K blocks (the layouts of {@link Quant}), for Shardline's own GGUF writer. Q8_0
 * is llama.cpp's reference quantizer (scale = max|x| / 127, round to nearest). Q4_K and Q6_K use plain
 * per-sub-block min/max scales (no search for the best scale as llama.cpp's quantizer does), so their error is a
 * little larger than llama.cpp's for the same file size; the decoder does not care how the blocks were chosen.
 */
public final class Quantizer {
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Quantizer() {
    }

    /** Quantizes {@code n} values (whole blocks) from {@code x[off ..]} into {@code dst} at {@code dstOff}. */
    public static void quantize(DType t, float[] x, int off, int n, MemorySegment dst, long dstOff) {
        int bs = t.blockSize();
        for (int b = 0; b < n / bs; b++) {
            long o = dstOff + (long) b * t.blockBytes();
            int xo = off + b * bs;
            switch (t) {
                case Q8_0 -> q8(x, xo, dst, o);
                case Q4_K -> q4k(x, xo, dst, o);
                case Q6_K -> q6k(x, xo, dst, o);
                default -> throw new IllegalArgumentException(t + " is not a block type");
            }
        }
    }

    private static void q8(float[] x, int xo, MemorySegment d, long o) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[xo + i]));
        float scale = amax / 127f;
        float inv = scale != 0 ? 1f / scale : 0f;
        d.set(SHORT_LE, o, Float.floatToFloat16(scale));
        for (int i = 0; i < 32; i++) d.set(ValueLayout.JAVA_BYTE, o + 2 + i, (byte) Math.round(x[xo + i] * inv));
    }

    private static void q4k(float[] x, int xo, MemorySegment d, long o) {
        float[] scale = new float[8];
        float[] min = new float[8];   // the amount subtracted: >= 0
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < 8; j++) {
            float lo = 0;
            float hi = 0;
            for (int i = 0; i < 32; i++) {
                lo = Math.min(lo, x[xo + 32 * j + i]);
                hi = Math.max(hi, x[xo + 32 * j + i]);
            }
            scale[j] = (hi - lo) / 15f;
            min[j] = -lo;
            maxScale = Math.max(maxScale, scale[j]);
            maxMin = Math.max(maxMin, min[j]);
        }
        float dd = Float.float16ToFloat(Float.floatToFloat16(maxScale / 63f));
        float dm = Float.float16ToFloat(Float.floatToFloat16(maxMin / 63f));
        d.set(SHORT_LE, o, Float.floatToFloat16(dd));
        d.set(SHORT_LE, o + 2, Float.floatToFloat16(dm));
        int[] sc = new int[8];
        int[] m = new int[8];
        for (int j = 0; j < 8; j++) {
            sc[j] = dd > 0 ? Math.min(63, Math.round(scale[j] / dd)) : 0;
            m[j] = dm > 0 ? Math.min(63, Math.round(min[j] / dm)) : 0;
        }
        for (int j = 0; j < 4; j++) {
            d.set(ValueLayout.JAVA_BYTE, o + 4 + j, (byte) (sc[j] | ((sc[j + 4] >> 4) << 6)));
            d.set(ValueLayout.JAVA_BYTE, o + 4 + j + 4, (byte) (m[j] | ((m[j + 4] >> 4) << 6)));
            d.set(ValueLayout.JAVA_BYTE, o + 4 + j + 8, (byte) ((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4)));
        }
        for (int g = 0; g < 4; g++) {
            for (int l = 0; l < 32; l++) {
                int q0 = q4(x[xo + 64 * g + l], dd * sc[2 * g], dm * m[2 * g]);
                int q1 = q4(x[xo + 64 * g + 32 + l], dd * sc[2 * g + 1], dm * m[2 * g + 1]);
                d.set(ValueLayout.JAVA_BYTE, o + 16 + 32L * g + l, (byte) (q0 | (q1 << 4)));
            }
        }
    }

    private static int q4(float v, float scale, float min) {
        if (scale == 0) return 0;
        return Math.max(0, Math.min(15, Math.round((v + min) / scale)));
    }

    private static void q6k(float[] x, int xo, MemorySegment d, long o) {
        float[] scale = new float[16];
        float maxScale = 0;
        for (int g = 0; g < 16; g++) {
            float amax = 0;
            for (int i = 0; i < 16; i++) amax = Math.max(amax, Math.abs(x[xo + 16 * g + i]));
            scale[g] = amax / 31f;
            maxScale = Math.max(maxScale, scale[g]);
        }
        float dd = Float.float16ToFloat(Float.floatToFloat16(maxScale / 127f));
        d.set(SHORT_LE, o + 208, Float.floatToFloat16(dd));
        int[] sc = new int[16];
        for (int g = 0; g < 16; g++) {
            sc[g] = dd > 0 ? Math.min(127, Math.round(scale[g] / dd)) : 0;
        }
        for (int i = 0; i < 192; i++) d.set(ValueLayout.JAVA_BYTE, o + i, (byte) 0);
        for (int h = 0; h < 2; h++) {
            for (int c = 0; c < 4; c++) {
                for (int l = 0; l < 32; l++) {
                    int si = 8 * h + 2 * c + l / 16;
                    float s = dd * sc[si];
                    int j = 128 * h + 32 * c + l;
                    int q = s == 0 ? 0 : Math.max(-32, Math.min(31, Math.round(x[xo + j] / s)));
                    int u = q + 32;
                    long ql = o + 64L * h + l + 32 * (c & 1);
                    int old = d.get(ValueLayout.JAVA_BYTE, ql) & 0xff;
                    d.set(ValueLayout.JAVA_BYTE, ql, (byte) (c < 2 ? old | (u & 0xF) : old | ((u & 0xF) << 4)));
                    long qh = o + 128 + 32L * h + l;
                    int oldH = d.get(ValueLayout.JAVA_BYTE, qh) & 0xff;
                    d.set(ValueLayout.JAVA_BYTE, qh, (byte) (oldH | ((u >> 4) << (2 * c))));
                }
            }
        }
        for (int g = 0; g < 16; g++) d.set(ValueLayout.JAVA_BYTE, o + 192 + g, (byte) sc[g]);
    }
}
