package dev.shardline.model.sampling;

/**
 * The weights a temperature draw uses: integers that approximate {@code 2^42 x exp(z)}, computed with an
 * arithmetic that any IEEE-754 implementation (the JDK, a CUDA kernel without fast-math) reproduces bit for bit,
 * so that sums of weights, and therefore the drawn token, do not depend on the order in which they are added.
 *
 * <p>For a candidate logit {@code x} (after bias and penalties), the row's max {@code max} and
 * {@code invT = (float) (1.0 / temperature)}:
 * <ol>
 *   <li>{@code z = (x - max) * invT} in float: one rounded subtraction, one rounded multiplication, never fused
 *       (CUDA: {@code __fmul_rn(__fsub_rn(x, max), invT)});</li>
 *   <li>{@code t = (double) z * LOG2E} (one double multiplication); a NaN {@code z} or {@code t < -42} (this
 *       includes -inf) gives weight 0;</li>
 *   <li>{@code k = (int) floor(t)} (so {@code -42 <= k <= 0}) and {@code f = t - k}, a double subtraction (exact
 *       unless it rounds up to 1.0, when t is a tiny negative number; then p(1) is used, as both sides do);</li>
 *   <li>{@code p = 2^f} by the Taylor polynomial of {@code exp(f ln 2)} of degree 12 ({@link #COEFFICIENTS}),
 *       evaluated by Horner with fused multiply-adds in double, highest degree first:
 *       {@code p = fma(p, f, c[i])} for i = 11 .. 0 starting from {@code p = c[12]}; {@code p(0) = c[0] = 1};</li>
 *   <li>{@code w = (long) (p x 2^(42 + k))}: the multiplication by a power of two is exact, the conversion
 *       truncates (the value is positive, so this is floor).</li>
 * </ol>
 * The top token ({@code x == max}) weighs exactly {@link #TOP} = 2^42; every weight is in [0, 2^43). A 152064-token
 * vocabulary sums to below 2^61, so long sums never overflow and any summation order gives the same total.
 * Against {@code 2^42 x exp(z)} a weight is off by at most {@link #RELATIVE_ERROR} of it plus 1 (the truncation).
 */
public final class DrawWeights {
    /** log2 of the top token's weight. */
    public static final int SCALE_BITS = 42;
    /** The weight of the top token: 2^42. */
    public static final long TOP = 1L << SCALE_BITS;
    /** log2(e) as the nearest double. */
    public static final double LOG2E = 0x1.71547652b82fep0;
    /**
     * A bound on the relative error of a weight against {@code 2^42 x exp(z)} before truncation: the polynomial's
     * remainder (below 1.4e-12 on [0, 1]) plus rounding in t (at most 42 x 2^-53 relative in exp) and Horner.
     */
    public static final double RELATIVE_ERROR = 1.5e-12;

    /** c[n] = (ln 2)^n / n!, each the nearest double (the CUDA kernel holds the same literals). */
    static final double[] COEFFICIENTS = {
            0x1.0000000000000p+0, 0x1.62e42fefa39efp-1, 0x1.ebfbdff82c58fp-3, 0x1.c6b08d704a0c0p-5,
            0x1.3b2ab6fba4e77p-7, 0x1.5d87fe78a6731p-10, 0x1.430912f86c787p-13, 0x1.ffcbfc588b0c7p-17,
            0x1.62c0223a5c824p-20, 0x1.b5253d395e7c4p-24, 0x1.e4cf5158b8ecap-28, 0x1.e8cac7351bb25p-32,
            0x1.c3bd650fc2986p-36};

    /**
     * A float z below this is certainly cut off (its t is below -42.00002, since 42 ln 2 = 29.11218): a shortcut
     * that skips the double arithmetic for the far tail; it never changes a weight.
     */
    static final float SURELY_CUT = -29.1122f;

    private DrawWeights() {
    }

    /** The scaled exponent of a logit: {@code (x - max) * invT} in float, each step rounded. */
    public static float z(float x, float max, float invT) {
        return (x - max) * invT;
    }

    /** The weight of logit x in a row with max {@code max} at {@code invT}. */
    public static long weight(float x, float max, float invT) {
        return weightOf(z(x, max, invT));
    }

    /** The weight of a scaled exponent z (<= 0 for every logit of the row). */
    public static long weightOf(float z) {
        if (!(z >= SURELY_CUT)) return 0;                 // NaN, -inf and the far tail
        return weightOf(z, COEFFICIENTS);
    }

    /** The rule with polynomial coefficients c (highest degree last) and without the shortcut (tests break it). */
    static long weightOf(float z, double[] c) {
        double t = (double) z * LOG2E;
        if (!(t >= -SCALE_BITS)) return 0;                // NaN too
        double k = Math.floor(t);
        double f = t - k;
        double p = c[c.length - 1];
        for (int i = c.length - 2; i >= 0; i--) {
            p = Math.fma(p, f, c[i]);
        }
        return (long) (p * powerOfTwo(SCALE_BITS + (int) k));
    }

    /** 2^e for 0 <= e <= 42, exactly. */
    private static double powerOfTwo(int e) {
        return Double.longBitsToDouble((long) (1023 + e) << 52);
    }
}
