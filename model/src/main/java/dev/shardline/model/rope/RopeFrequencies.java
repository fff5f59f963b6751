package dev.shardline.model.rope;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.config.RopeScaling;

/**
 * Rotary position embedding frequencies for Qwen2's rotate-half RoPE, with YaRN when config.json asks for it.
 *
 * <p>Plain RoPE: {@code invFreq[i] = 1 / theta^(2i / headDim)}, attention factor 1. YaRN follows vLLM's
 * {@code YaRNScalingRotaryEmbedding} (the deployment Qwen recommends): the correction range is computed from
 * {@code original_max_position_embeddings}, frequencies below it are interpolated by {@code factor}, those above
 * kept, a linear ramp in between, and cos/sin are multiplied by {@code 0.1 ln(factor) + 1}. For QwQ-32B with
 * factor 4 and L = 32768 the ramp runs from index 23 to 40 and the factor is 1.1386294.
 */
public final class RopeFrequencies {
    private final int headDim;
    private final float[] invFreq;        // [headDim / 2]
    private final float attentionFactor;

    private RopeFrequencies(int headDim, float[] invFreq, float attentionFactor) {
        this.headDim = headDim;
        this.invFreq = invFreq;
        this.attentionFactor = attentionFactor;
    }

    public static RopeFrequencies of(ModelConfig config) {
        int dim = config.headDim();
        double base = config.ropeTheta();
        RopeScaling yarn = config.ropeScaling();
        int half = dim / 2;
        float[] inv = new float[half];
        if (yarn == null) {
            for (int i = 0; i < half; i++) {
                inv[i] = (float) (1.0 / Math.pow(base, (2.0 * i) / dim));
            }
            return new RopeFrequencies(dim, inv, 1.0f);
        }
        double s = yarn.factor();
        int original = yarn.originalMaxPositionEmbeddings();
        double low = Math.max(Math.floor(correctionDim(yarn.betaFast(), dim, base, original)), 0);
        double high = Math.min(Math.ceil(correctionDim(yarn.betaSlow(), dim, base, original)), dim - 1);
        if (low == high) {
            high += 0.001;
        }
        for (int i = 0; i < half; i++) {
            double posFreq = Math.pow(base, (2.0 * i) / dim);
            double extrapolation = 1.0 / posFreq;
            double interpolation = 1.0 / (s * posFreq);
            double ramp = Math.clamp((i - low) / (high - low), 0.0, 1.0);
            double extrapolationWeight = 1.0 - ramp;
            inv[i] = (float) (interpolation * (1 - extrapolationWeight) + extrapolation * extrapolationWeight);
        }
        return new RopeFrequencies(dim, inv, (float) yarn.attentionFactor());
    }

    /** YaRN's find_correction_dim: the rotary dimension whose wavelength fits {@code rotations} times in L. */
    static double correctionDim(double rotations, int dim, double base, int originalMaxPosition) {
        return dim * Math.log(originalMaxPosition / (rotations * 2 * Math.PI)) / (2 * Math.log(base));
    }

    public int headDim() {
        return headDim;
    }

    public float attentionFactor() {
        return attentionFactor;
    }

    public float[] inverseFrequencies() {
        return invFreq.clone();
    }

    /**
     * Fills {@code cos, sin [positions.length, headDim/2]} for the given positions, attention factor applied.
     * Computed once per step and shared by every layer and every backend, so all backends rotate identically.
     */
    public void table(int[] positions, float[] cos, float[] sin) {
        int half = headDim / 2;
        for (int t = 0; t < positions.length; t++) {
            for (int i = 0; i < half; i++) {
                float angle = positions[t] * invFreq[i];  // float32 like transformers
                cos[t * half + i] = (float) Math.cos(angle) * attentionFactor;
                sin[t * half + i] = (float) Math.sin(angle) * attentionFactor;
            }
        }
    }
}
