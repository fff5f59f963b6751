package dev.shardline.cli;

import dev.shardline.model.demo.DemoPreset;

import java.util.Locale;

/** Preset names as the command line spells them (tiny, small, qwq-slice). */
final class DemoPresets {
    static DemoPreset parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "tiny" -> DemoPreset.TINY;
            case "small" -> DemoPreset.SMALL;
            case "qwq-slice", "qwq_slice" -> DemoPreset.QWQ_SLICE;
            default -> throw new IllegalArgumentException("--preset: unknown preset \"" + name + "\"; choose tiny, small or qwq-slice");
        };
    }

    private DemoPresets() {
    }
}
