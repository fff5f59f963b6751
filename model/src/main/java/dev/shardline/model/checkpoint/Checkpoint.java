package dev.shardline.model.checkpoint;

import dev.shardline.model.json.Json;
import dev.shardline.model.json.JsonException;
import dev.shardline.model.safetensors.CheckpointException;
import dev.shardline.model.safetensors.SafetensorsHeader;
import dev.shardline.model.safetensors.TensorEntry;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The weight files of a Hugging Face checkpoint directory: either one {@code model.safetensors} or the shards named by
 * {@code model.safetensors.index.json}. Opening reads and validates every file's header (not the data: nothing is
 * mapped here), so that a tensor's file, dtype and shape are known before a loader maps only the files it needs.
 */
public final class Checkpoint {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path dir;
    private final Map<Path, SafetensorsHeader> headers;   // file -> header, in shard order
    private final Map<String, Path> tensorFiles;          // tensor name -> file

    private Checkpoint(Path dir, Map<Path, SafetensorsHeader> headers, Map<String, Path> tensorFiles) {
        this.dir = dir;
        this.headers = Collections.unmodifiableMap(headers);
        this.tensorFiles = Collections.unmodifiableMap(tensorFiles);
    }

    /** Reads model.safetensors if present, else model.safetensors.index.json and its shards. */
    public static Checkpoint open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException(dir + ": checkpoint directory does not exist");
        }
        Path single = dir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            SafetensorsHeader h = SafetensorsHeader.read(single);
            Map<String, Path> tensors = new LinkedHashMap<>();
            for (String name : h.tensors().keySet()) {
                tensors.put(name, single);
            }
            Map<Path, SafetensorsHeader> headers = new LinkedHashMap<>();
            headers.put(single, h);
            return new Checkpoint(dir, headers, tensors);
        }
        Path index = dir.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) {
            return openIndexed(dir, index);
        }
        throw new CheckpointException(dir + ": no weights found: neither " + SINGLE_FILE + " nor " + INDEX_FILE);
    }

    private static Checkpoint openIndexed(Path dir, Path index) {
        Map<String, String> weightMap = readWeightMap(index);
        Map<Path, SafetensorsHeader> headers = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            Path shard = dir.resolve(e.getValue());
            if (!headers.containsKey(shard)) {
                if (!Files.isRegularFile(shard)) {
                    throw new CheckpointException(index + ": tensor \"" + e.getKey() + "\" is in shard " + e.getValue()
                            + ", which does not exist in " + dir);
                }
                headers.put(shard, SafetensorsHeader.read(shard));
            }
        }
        // every tensor of every shard, once
        Map<String, Path> seen = new LinkedHashMap<>();
        for (SafetensorsHeader h : headers.values()) {
            for (String name : h.tensors().keySet()) {
                Path other = seen.putIfAbsent(name, h.file());
                if (other != null) {
                    throw new CheckpointException(index + ": tensor \"" + name + "\" appears in two shards: "
                            + other + " and " + h.file());
                }
            }
        }
        Map<String, Path> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            Path shard = dir.resolve(e.getValue());
            if (!headers.get(shard).tensors().containsKey(e.getKey())) {
                throw new CheckpointException(index + ": tensor \"" + e.getKey() + "\" is listed in shard " + shard
                        + ", but that file does not contain it");
            }
            tensors.put(e.getKey(), shard);
        }
        return new Checkpoint(dir, headers, tensors);
    }

    private static Map<String, String> readWeightMap(Path index) {
        Map<String, Object> json;
        try {
            json = Json.parseObject(Files.readString(index, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new CheckpointException(index + ": cannot read: " + e.getMessage(), e);
        } catch (JsonException e) {
            throw new CheckpointException(index + ": not valid JSON: " + e.getMessage(), e);
        }
        if (!(json.get("weight_map") instanceof Map<?, ?> map)) {
            throw new CheckpointException(index + ": field \"weight_map\" is missing or not an object");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String tensor = (String) e.getKey();
            if (!(e.getValue() instanceof String file) || !isPlainFileName(file)) {
                throw new CheckpointException(index + ": tensor \"" + tensor + "\" must map to a file name in the "
                        + "same directory, found " + Json.write(e.getValue()));
            }
            out.put(tensor, file);
        }
        return out;
    }

    private static boolean isPlainFileName(String name) {
        return !name.isEmpty() && !name.contains("/") && !name.contains("\\") && !name.equals(".")
                && !name.equals("..");
    }

    public Path dir() {
        return dir;
    }

    /** The weight files, in index (or single-file) order. */
    public List<Path> files() {
        return new ArrayList<>(headers.keySet());
    }

    public SafetensorsHeader header(Path file) {
        return headers.get(file);
    }

    public Set<String> tensorNames() {
        return tensorFiles.keySet();
    }

    public boolean has(String tensor) {
        return tensorFiles.containsKey(tensor);
    }

    /** The file that holds the tensor. */
    public Path fileOf(String tensor) {
        Path p = tensorFiles.get(tensor);
        if (p == null) {
            throw new CheckpointException(dir + ": tensor \"" + tensor + "\" is missing from the checkpoint");
        }
        return p;
    }

    /** The header entry (dtype, shape, offsets) of the tensor. */
    public TensorEntry entry(String tensor) {
        return headers.get(fileOf(tensor)).tensors().get(tensor);
    }

    /** Bytes of all tensors (what an index's metadata.total_size states). */
    public long totalTensorBytes() {
        long total = 0;
        for (String name : tensorFiles.keySet()) {
            total += entry(name).byteSize();
        }
        return total;
    }
}
