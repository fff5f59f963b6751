package dev.shardline.cli.cluster;

import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.tokenizer.QwenTokenizerSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Seeded demo checkpoints with the real tokenizer, written once per test JVM into a temp directory. */
public final class TestModels {
    private static final Map<DemoPreset, Path> written = new HashMap<>();

    public static synchronized Path get(DemoPreset preset) {
        return written.computeIfAbsent(preset, p -> {
            try {
                Path dir = Files.createTempDirectory("shardline-" + p.cliName());
                dir.toFile().deleteOnExit();
                QwenTokenizerSource tok = QwenTokenizerSource.defaults();
                DemoCheckpointWriter.write(p, -1, dir, 1, 77, tok.tokenizerJson(null), tok.tokenizerConfigJson(null), null);
                return dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private TestModels() {
    }
}
