package dev.shardline.coordinator.metrics;

/**
 * Quantiles of a classic histogram from its buckets, as Prometheus' {@code histogram_quantile} estimates them: find
 * the bucket that holds the rank, interpolate linearly between its lower and upper bound (the first bucket's lower
 * bound is 0); a rank in the +Inf bucket gives the largest finite bound.
 */
final class BucketQuantiles {
    private BucketQuantiles() {
    }

    /**
     * @param upperBounds the buckets' upper bounds, ascending, the last one may be +Inf
     * @param counts      observations in each bucket (not cumulative)
     * @param q           the quantile, in [0, 1]
     */
    static double quantile(double[] upperBounds, long[] counts, double q) {
        long total = 0;
        for (long c : counts) total += c;
        if (total == 0) return 0;
        double rank = q * total;
        long below = 0;
        for (int i = 0; i < counts.length; i++) {
            if (below + counts[i] >= rank && counts[i] > 0) {
                double upper = upperBounds[i];
                double lower = i == 0 ? 0 : upperBounds[i - 1];
                if (Double.isInfinite(upper)) return lower;
                return lower + (upper - lower) * (rank - below) / counts[i];
            }
            below += counts[i];
        }
        double last = upperBounds[upperBounds.length - 1];
        return Double.isInfinite(last) && upperBounds.length > 1 ? upperBounds[upperBounds.length - 2] : last;
    }
}
