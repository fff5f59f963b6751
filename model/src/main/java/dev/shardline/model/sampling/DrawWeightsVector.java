package dev.shardline.model.sampling;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link DrawWeights#weight} for a whole row, on the Vector API: the same IEEE steps lane by lane, so every weight
 * equals the scalar one bit for bit (round-to-nearest float subtract and multiply, double multiply, subtract and
 * fused multiply-adds, conversions with Java's casting rules). {@code floor(t)} has no vector operation: it is the
 * truncation toward zero, minus 1 where that lies above t. A lane whose t is below {@code -42} (the cut-off; NaN
 * and -inf too) is set to 0 at the end, whatever its arithmetic gave. With 8 double lanes (AVX-512) a
 * 152064-token row costs about a third of the scalar loop.
 */
final class DrawWeightsVector {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** As many float lanes as D has doubles, in half its width: one conversion F2D fills a double vector. */
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class,
            VectorShape.forBitSize(Math.max(64, D.vectorBitSize() / 2)));
    private static final boolean VECTOR = D.length() >= 2 && F.length() == D.length();

    private DrawWeightsVector() {
    }

    /** {@code out[i] = DrawWeights.weight(x[i], max, invT)} for i < n, where every x[i] is at most max or NaN. */
    static void weights(float[] x, int n, float max, float invT, long[] out) {
        int i = 0;
        if (VECTOR) {
            double[] c = DrawWeights.COEFFICIENTS;
            for (; i <= n - D.length(); i += D.length()) {
                FloatVector z = FloatVector.fromArray(F, x, i).sub(max).mul(invT);          // float, rounded
                DoubleVector t = ((DoubleVector) z.convertShape(VectorOperators.F2D, D, 0)).mul(DrawWeights.LOG2E);
                VectorMask<Double> live = t.compare(VectorOperators.GE, -DrawWeights.SCALE_BITS);
                DoubleVector k = (DoubleVector) t.convert(VectorOperators.D2L, 0).convert(VectorOperators.L2D, 0);
                k = k.lanewise(VectorOperators.SUB, 1.0, t.compare(VectorOperators.LT, k));  // floor
                DoubleVector f = t.sub(k);
                DoubleVector p = DoubleVector.broadcast(D, c[12]);
                for (int j = 11; j >= 0; j--) {
                    p = p.fma(f, DoubleVector.broadcast(D, c[j]));                          // p * f + c[j]
                }
                LongVector e = (LongVector) k.convert(VectorOperators.D2L, 0);
                DoubleVector scale = e.add(1023 + DrawWeights.SCALE_BITS).lanewise(VectorOperators.LSHL, 52)
                        .reinterpretAsDoubles();                                            // 2^(42 + k)
                LongVector w = (LongVector) p.mul(scale).convert(VectorOperators.D2L, 0);
                w.blend(0L, live.not().cast(w.species())).intoArray(out, i);
            }
        }
        for (; i < n; i++) {
            out[i] = DrawWeights.weight(x[i], max, invT);
        }
    }
}
