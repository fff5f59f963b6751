package dev.shardline.cli.gpucheck;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.config.RopeScaling;

import java.util.List;

/**
 * The sizes gpu-check runs at: {@code qwq} is QwQ-32B's real layer (hidden 5120, 40/8 heads of 128, intermediate
 * 27648, vocab 152064, YaRN factor 4 over 32768) and real buffer sizes; {@code small} keeps head_dim 128 and every
 * code path but shrinks the widths so the whole command runs in seconds on a CPU (tests).
 *
 * @param name           "qwq" or "small"
 * @param config         a 64-layer config with these widths and QwQ's YaRN rope_scaling
 * @param decodeTokens   matmul token counts checked against the decode bound
 * @param prefillTokens  matmul token counts checked against the prefill bound
 * @param copyBytes      the buffer of the copy-bandwidth probe (timing)
 * @param prefillTiming  tokens of the timed prefill matmul and layer chunk
 * @param layerContext   positions in the KV cache before the timed layer decode step
 * @param e2eModels      demo presets run end to end
 */
record Shapes(String name, ModelConfig config, int[] decodeTokens, int[] prefillTokens, long copyBytes,
              int prefillTiming, int layerContext, List<String> e2eModels) {

    /** Rows of a big weight the reference recomputes per matmul check (random, always with the first and last). */
    static final int CHECK_ROWS = 64;
    /** Tokens of a prefill matmul the reference recomputes (random, always with the first and last). */
    static final int CHECK_TOKENS = 32;

    static Shapes of(String name, boolean gpu) {
        return switch (name) {
            case "qwq" -> new Shapes("qwq", config(5120, 40, 8, 27648, 152064), new int[]{1, 4, 8},
                    new int[]{100, 128, 512}, gpu ? 1L << 30 : 256L << 20, 512, 1000, List.of("tiny", "small"));
            case "small" -> new Shapes("small", config(512, 4, 2, 1024, 4096), new int[]{1, 4, 8},
                    new int[]{100, 128, 512}, 16L << 20, 64, 200, List.of("tiny"));
            default -> throw new IllegalArgumentException("--shapes must be qwq or small, got \"" + name + "\"");
        };
    }

    /** A Qwen2 config with QwQ's constants (theta 1e6, eps 1e-5, YaRN 4 x 32768) and the given widths. */
    static ModelConfig config(int hidden, int heads, int kvHeads, int intermediate, int vocab) {
        return new ModelConfig("qwen2", hidden, intermediate, 64, heads, kvHeads, vocab, 1e-5, 1_000_000.0, 131072,
                false, RopeScaling.yarn(4.0, 32768), "silu", "bfloat16", 151643, List.of(151645));
    }

    int hidden() {
        return config.hiddenSize();
    }

    int kvDim() {
        return config.kvDim();
    }

    int intermediate() {
        return config.intermediateSize();
    }

    int vocab() {
        return config.vocabSize();
    }
}
