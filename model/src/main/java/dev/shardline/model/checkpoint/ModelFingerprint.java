package dev.shardline.model.checkpoint;

import dev.shardline.model.safetensors.TensorEntry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.TreeSet;

/**
 * A short identity of a checkpoint: sha256 over config.json and the sorted tensor names, dtypes and shapes (the
 * safetensors headers only, no weight bytes), so a coordinator can refuse a worker that sees other weights.
 */
public final class ModelFingerprint {

    public static String of(Path dir) {
        Checkpoint checkpoint = Checkpoint.open(dir);
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(Files.readAllBytes(ModelDirectory.of(dir).configJson()));
            for (String name : new TreeSet<>(checkpoint.tensorNames())) {
                TensorEntry e = checkpoint.entry(name);
                sha.update((name + "|" + e.dtype() + "|" + Arrays.toString(e.shape()) + "\n").getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir + "/config.json", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private ModelFingerprint() {
    }
}
