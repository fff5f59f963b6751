package dev.shardline.model.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Plain scalar dequantization of the GGUF block types, exactly as ggml (and gguf-py's numpy) compute it, in float
 * and in the same order of operations, so the values match llama.cpp's bit for bit. The reference backend reads
 * weights through this; the fast kernels decode the same layouts in registers (docs/adr/0008).
 *
 * <pre>
 * Q8_0 (34 bytes / 32):   f16 d | int8 q[32]                      x[i] = d * q[i]
 * Q4_K (144 bytes / 256): f16 d | f16 dmin | u8 scales[12] | u8 qs[128]
 *     8 sub-blocks of 32 with a 6-bit scale sc and min m each (scaleMin); sub-blocks 2g and 2g+1 share the bytes
 *     qs[32g .. 32g+32): low nibbles for 2g, high for 2g+1.   x = (d * sc) * q - (dmin * m)
 * Q6_K (210 bytes / 256): u8 ql[128] | u8 qh[64] | int8 scales[16] | f16 d
 *     two halves of 128; in half h, quarter c (32 elements), lane l: low 4 bits from ql[64h + l + 32(c&1)]
 *     (low nibble for c < 2), high 2 bits from qh[32h + l] >> 2c; scale scales[8h + 2c + l/16].
 *     x = (d * scale) * (q - 32)
 * </pre>
 */
public final class Quant {
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Quant() {
    }

    static float f16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(SHORT_LE, off));
    }

    private static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xff;
    }

    /** The 6-bit scale (low 8 bits of the result) and min (bits 8..15) of Q4_K sub-block j (0..7) of the block at {@code b}. */
    public static int scaleMin(MemorySegment s, long b, int j) {
        long q = b + 4;
        int sc;
        int m;
        if (j < 4) {
            sc = u8(s, q + j) & 63;
            m = u8(s, q + j + 4) & 63;
        } else {
            sc = (u8(s, q + j + 4) & 0xF) | ((u8(s, q + j - 4) >> 6) << 4);
            m = (u8(s, q + j + 4) >> 4) | ((u8(s, q + j) >> 6) << 4);
        }
        return sc | (m << 8);
    }

    /** Element {@code i} (flat index) of a tensor of block type {@code t}. */
    public static float element(DType t, MemorySegment s, long i) {
        long b = i / t.blockSize() * t.blockBytes();
        int j = (int) (i % t.blockSize());
        return switch (t) {
            case Q8_0 -> f16(s, b) * s.get(ValueLayout.JAVA_BYTE, b + 2 + j);
            case Q4_K -> {
                int g = j / 64;
                int w = j % 64;
                int sub = 2 * g + (w >= 32 ? 1 : 0);
                int byteQ = u8(s, b + 16 + 32L * g + (w % 32));
                int q = w < 32 ? byteQ & 0xF : byteQ >> 4;
                int sm = scaleMin(s, b, sub);
                float d1 = f16(s, b) * (sm & 0xff);
                float m1 = f16(s, b + 2) * (sm >> 8);
                yield d1 * q - m1;
            }
            case Q6_K -> {
                int h = j / 128;
                int c = (j % 128) / 32;
                int l = j % 32;
                int lo = u8(s, b + 64L * h + l + 32 * (c & 1));
                lo = c < 2 ? lo & 0xF : lo >> 4;
                int hi = (u8(s, b + 128 + 32L * h + l) >> (2 * c)) & 3;
                int q = (lo | (hi << 4)) - 32;
                float d = f16(s, b + 208) * s.get(ValueLayout.JAVA_BYTE, b + 192 + 8L * h + 2 * c + l / 16);
                yield d * q;
            }
            default -> throw new IllegalArgumentException(t + " is not a block type");
        };
    }

    /** Decodes {@code blocks} whole blocks starting at block {@code firstBlock} into {@code out[off ..]}. */
    public static void dequantize(DType t, MemorySegment s, long firstBlock, long blocks, float[] out, int off) {
        int n = t.blockSize();
        for (long k = 0; k < blocks; k++) {
            long b = (firstBlock + k) * t.blockBytes();
            int o = off + (int) (k * n);
            switch (t) {
                case Q8_0 -> {
                    float d = f16(s, b);
                    for (int j = 0; j < 32; j++) {
                        out[o + j] = d * s.get(ValueLayout.JAVA_BYTE, b + 2 + j);
                    }
                }
                case Q4_K -> {
                    float d = f16(s, b);
                    float dmin = f16(s, b + 2);
                    for (int g = 0; g < 4; g++) {
                        int sm0 = scaleMin(s, b, 2 * g);
                        int sm1 = scaleMin(s, b, 2 * g + 1);
                        float d1 = d * (sm0 & 0xff);
                        float m1 = dmin * (sm0 >> 8);
                        float d2 = d * (sm1 & 0xff);
                        float m2 = dmin * (sm1 >> 8);
                        for (int l = 0; l < 32; l++) {
                            int q = u8(s, b + 16 + 32L * g + l);
                            out[o + 64 * g + l] = d1 * (q & 0xF) - m1;
                            out[o + 64 * g + 32 + l] = d2 * (q >> 4) - m2;
                        }
                    }
                }
                case Q6_K -> {
                    for (int j = 0; j < 256; j++) {
                        out[o + j] = element(t, s, (firstBlock + k) * 256 + j);
                    }
                }
                default -> throw new IllegalArgumentException(t + " is not a block type");
            }
        }
    }
}
