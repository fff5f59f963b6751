package dev.shardline.coordinator.metrics;

import java.util.ArrayList;
import java.util.List;

/** vLLM's (v1 engine) histogram bucket bounds, so that dashboards built on vLLM read ours alike. */
final class VllmBuckets {
    /** {@code vllm:time_to_first_token_seconds}. */
    static final double[] TIME_TO_FIRST_TOKEN = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
            2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
    /** {@code vllm:inter_token_latency_seconds}. */
    static final double[] INTER_TOKEN = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0,
            7.5, 10.0, 20.0, 40.0, 80.0};
    /** The request-latency histograms: end to end, queue, prefill, decode, inference. */
    static final double[] REQUEST_LATENCY = {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
            60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

    /** 1, 2, 5, 10, 20, 50, ... up to {@code max} (vLLM's build_1_2_5_buckets), for token counts. */
    static double[] oneTwoFive(long max) {
        List<Double> out = new ArrayList<>();
        for (long exponent = 1; ; exponent *= 10) {
            for (int m : new int[]{1, 2, 5}) {
                long v = m * exponent;
                if (v > max) return out.stream().mapToDouble(Double::doubleValue).toArray();
                out.add((double) v);
            }
        }
    }

    private VllmBuckets() {
    }
}
