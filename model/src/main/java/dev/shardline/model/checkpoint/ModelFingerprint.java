package dev.shardline.model.checkpoint;

import dev.shardline.model.safetensors.CheckpointException;
import dev.shardline.model.safetensors.TensorEntry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.TreeSet;

/**
 * Identifies a model checkpoint so that the coordinator and its workers can tell they serve the same weights:
 * lower-case hex SHA-256 over the bytes of {@code config.json}, then one line per tensor in name order,
 * {@code name dtype [d0, d1, ...]\n}. Only headers are read (cheap even for QwQ-32B's 17 shards), and the value
 * does not depend on how the tensors are split over shard files.
 */
public final class ModelFingerprint {

    private ModelFingerprint() {
    }

    /**
     * Fingerprint of the checkpoint in dir.
     *
     * @throws CheckpointException when config.json or the weight headers cannot be read
     */
    public static String of(Path dir) {
        if (dev.shardline.model.gguf.GgufModel.isGguf(dir)) {
            return dev.shardline.model.gguf.GgufModel.open(dir).fingerprint();   // the same, over GGUF headers
        }
        Path config = dir.resolve("config.json");
        byte[] configBytes;
        try {
            configBytes = Files.readAllBytes(config);
        } catch (IOException e) {
            throw new CheckpointException(config + ": cannot read the model config for its fingerprint: "
                    + e.getMessage(), e);
        }
        Checkpoint ckpt = Checkpoint.open(dir);
        MessageDigest sha = sha256();
        sha.update(configBytes);
        for (String name : new TreeSet<>(ckpt.tensorNames())) {
            TensorEntry e = ckpt.entry(name);
            StringBuilder line = new StringBuilder(name).append(' ').append(e.dtype()).append(" [");
            long[] shape = e.shape();
            for (int i = 0; i < shape.length; i++) {
                line.append(i == 0 ? "" : ", ").append(shape[i]);
            }
            sha.update(line.append("]\n").toString().getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** The first 12 hex digits, for log lines. */
    public static String shortForm(String fingerprint) {
        return fingerprint.length() <= 12 ? fingerprint : fingerprint.substring(0, 12);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new UncheckedIOException(new IOException("SHA-256 is missing from this JDK", e));
        }
    }
}
