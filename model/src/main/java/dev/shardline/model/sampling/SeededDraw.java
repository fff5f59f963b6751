package dev.shardline.model.sampling;

/**
 * The random number behind every sampled token: a uniform double in [0, 1) that is a pure function of the
 * sequence's seed and the position of the token being drawn (prompt length + tokens generated before it).
 *
 * <p>Keyed draws make sampling restartable: a sequence whose sampler is created again (recomputed after a
 * preemption, or moved to another pipeline, where the last stage rebuilds it from the prompt and the tokens generated
 * so far) draws exactly the numbers an uninterrupted one would, so the same logits give the same tokens. A single
 * sequential generator could not do that: a new one starts its stream from the beginning.
 *
 * <p>The rule is SplitMix64 at a counter: {@code z = seed + (position + 1) * 0x9E3779B97F4A7C15}, then Stafford's
 * mix13 finaliser ({@code z ^= z >>> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >>> 27; z *= 0x94D049BB133111EB;
 * z ^= z >>> 31}), and the top 53 bits as a fraction: {@code (z >>> 11) * 2^-53}. It is the value the
 * {@code (position + 1)}-th {@code nextDouble()} of {@code new java.util.SplittableRandom(seed)} returns, so any other
 * implementation (a GPU sampler's host side, another language) can be checked against the JDK. Every backend that
 * samples must take its draw from here.
 */
public final class SeededDraw {
    /** SplitMix64's increment: the odd integer nearest to 2^64 divided by the golden ratio. */
    static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

    private SeededDraw() {
    }

    /** The uniform draw in [0, 1) for the token at {@code position} of a sequence sampled with {@code seed}. */
    public static double uniform(long seed, long position) {
        long z = seed + (position + 1) * GOLDEN_GAMMA;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
    }
}
