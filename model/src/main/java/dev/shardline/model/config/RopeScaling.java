package dev.shardline.model.config;

/**
 * The {@code rope_scaling} block of config.json. Only YaRN is supported (QwQ's long-context setting);
 * {@code null} in {@link ModelConfig} means plain RoPE.
 *
 * @param type                          always "yarn"
 * @param factor                        context extension factor s (QwQ: 4.0)
 * @param originalMaxPositionEmbeddings the pre-training context L the correction range is computed from (QwQ: 32768)
 * @param betaFast                      YaRN beta_fast (default 32)
 * @param betaSlow                      YaRN beta_slow (default 1)
 * @param attentionFactor               the cos/sin multiplier; vLLM's default is 0.1 ln(s) + 1
 */
public record RopeScaling(String type, double factor, int originalMaxPositionEmbeddings,
                          double betaFast, double betaSlow, double attentionFactor) {

    public static RopeScaling yarn(double factor, int originalMaxPositionEmbeddings) {
        return new RopeScaling("yarn", factor, originalMaxPositionEmbeddings, 32, 1, 0.1 * Math.log(factor) + 1.0);
    }
}
