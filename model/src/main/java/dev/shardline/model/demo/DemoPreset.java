package dev.shardline.model.demo;

import dev.shardline.model.config.ModelConfig;

import java.util.List;

/**
 * Shapes for demo checkpoints with random weights: TINY for tests, SMALL with the Qwen2.5-0.5B shape, and QWQ_SLICE
 * with QwQ-32B's real layer shapes but only a few layers, to measure per-layer speed without the 65 GB download.
 */
public enum DemoPreset {
    //        hidden intermediate layers heads kv  vocab   tied   rmsEps  maxPos
    TINY(64, 128, 4, 4, 2, 151936, false, 1e-6, 32768),
    SMALL(896, 4864, 24, 14, 2, 151936, true, 1e-6, 32768),
    QWQ_SLICE(5120, 27648, 2, 40, 8, 152064, false, 1e-5, 131072);

    public static final int BOS = 151643;
    public static final List<Integer> EOS = List.of(151645, 151643);

    private final int hidden;
    private final int intermediate;
    private final int defaultLayers;
    private final int heads;
    private final int kvHeads;
    private final int vocab;
    private final boolean tied;
    private final double rmsNormEps;
    private final int maxPositions;

    DemoPreset(int hidden, int intermediate, int defaultLayers, int heads, int kvHeads, int vocab, boolean tied,
               double rmsNormEps, int maxPositions) {
        this.hidden = hidden;
        this.intermediate = intermediate;
        this.defaultLayers = defaultLayers;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.vocab = vocab;
        this.tied = tied;
        this.rmsNormEps = rmsNormEps;
        this.maxPositions = maxPositions;
    }

    public int defaultLayers() {
        return defaultLayers;
    }

    /** The preset with its default layer count. */
    public ModelConfig config() {
        return config(-1);
    }

    /** The preset with the given number of layers (-1 = the preset's default). */
    public ModelConfig config(int layers) {
        int n = layers == -1 ? defaultLayers : layers;
        if (n <= 0) {
            throw new IllegalArgumentException(name() + ": layer count must be positive (or -1 for the default "
                    + defaultLayers + "), got " + layers);
        }
        return new ModelConfig("qwen2", hidden, intermediate, n, heads, kvHeads, vocab, rmsNormEps, 1_000_000.0,
                maxPositions, tied, null, "silu", "bfloat16", BOS, EOS);
    }

    /** Lower-case name with dashes, as the CLI spells it ("tiny", "small", "qwq-slice"). */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /** The preset named like {@link #cliName()} (case-insensitive, '-' or '_'). */
    public static DemoPreset fromCliName(String s) {
        for (DemoPreset p : values()) {
            if (p.cliName().equalsIgnoreCase(s.replace('_', '-'))) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown demo preset \"" + s + "\"; choose tiny, small or qwq-slice");
    }
}
