package dev.shardline.cli.gpucheck;

/**
 * The error of a backend's output against the reference: {@code max|got - ref| / max|ref|} over the compared
 * elements. Scale-free and set by the worst element, so one wrong output fails a check. A NaN or infinity on
 * either side, or any difference against an all-zero reference, is an infinite error.
 */
final class ErrorMetric {
    private double maxDiff;
    private double maxRef;
    private boolean broken;
    private long count;

    void add(float got, float ref) {
        if (!Float.isFinite(got) || !Float.isFinite(ref)) {
            broken = true;
        }
        maxDiff = Math.max(maxDiff, Math.abs((double) got - ref));
        maxRef = Math.max(maxRef, Math.abs((double) ref));
        count++;
    }

    long count() {
        return count;
    }

    double value() {
        if (broken) return Double.POSITIVE_INFINITY;
        if (maxRef == 0) return maxDiff == 0 ? 0 : Double.POSITIVE_INFINITY;
        return maxDiff / maxRef;
    }

    /** {@code max|got - ref| / max|ref|} over the first {@code ref.length} elements. */
    static double of(float[] got, float[] ref) {
        ErrorMetric e = new ErrorMetric();
        for (int i = 0; i < ref.length; i++) e.add(got[i], ref[i]);
        return e.value();
    }

    /** "3.1e-07", "0" or "inf". */
    static String format(double v) {
        if (v == 0) return "0";
        if (Double.isInfinite(v)) return "inf";
        return String.format(java.util.Locale.ROOT, "%.1e", v);
    }
}
