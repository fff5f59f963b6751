package dev.shardline.coordinator.http;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The API keys the HTTP API accepts, held as SHA-256 hashes only. Each entry is {@code [name=]secret} or
 * {@code [name=]sha256:<64 hex digits>} (the hash of the secret, so the file never holds the secret itself:
 * {@code printf %s "$KEY" | sha256sum}). Entries come from a comma-separated list (the {@code api-keys} setting,
 * {@code SHARDLINE_COORDINATOR_API_KEYS}) and from a file, one per line ({@code #} starts a comment). A key's
 * identity (the request's tenant) is its name, else {@code key-} and the first 8 hex digits of its hash. No keys:
 * the API is open.
 */
public final class ApiKeys {
    private record Entry(String name, byte[] hash) {
    }

    private final List<Entry> entries;
    private final String source;

    private ApiKeys(List<Entry> entries, String source) {
        this.entries = List.copyOf(entries);
        this.source = source;
    }

    public static ApiKeys none() {
        return new ApiKeys(List.of(), "none");
    }

    /**
     * @param list comma-separated entries ("" for none)
     * @param file a file of entries, one per line, or null
     * @throws IllegalArgumentException naming the entry that is malformed, or the file that cannot be read
     */
    public static ApiKeys load(String list, Path file) {
        List<Entry> entries = new ArrayList<>();
        List<String> sources = new ArrayList<>();
        if (list != null && !list.isBlank()) {
            int i = 0;
            for (String e : list.split(",")) {
                if (!e.isBlank()) entries.add(entry(e.trim(), "api-keys entry " + i));
                i++;
            }
            sources.add("api-keys");
        }
        if (file != null) {
            List<String> lines;
            try {
                lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("api-keys-file " + file + ": " + e.getMessage(), e);
            }
            for (int i = 0; i < lines.size(); i++) {
                String l = lines.get(i).strip();
                if (l.isEmpty() || l.startsWith("#")) continue;
                entries.add(entry(l, file + " line " + (i + 1)));
            }
            sources.add(file.toString());
        }
        return new ApiKeys(entries, String.join(" and ", sources));
    }

    private static Entry entry(String text, String where) {
        String name = null;
        String secret = text;
        int eq = text.indexOf('=');
        if (eq > 0 && !text.startsWith("sha256:")) {
            name = text.substring(0, eq).strip();
            secret = text.substring(eq + 1).strip();
        }
        if (secret.isEmpty()) throw new IllegalArgumentException(where + ": the key is empty");
        byte[] hash;
        if (secret.startsWith("sha256:")) {
            String hex = secret.substring("sha256:".length());
            if (!hex.matches("[0-9a-fA-F]{64}")) {
                throw new IllegalArgumentException(where + ": sha256: must be followed by 64 hex digits");
            }
            hash = HexFormat.of().parseHex(hex.toLowerCase());
        } else {
            hash = sha256(secret);
        }
        if (name == null || name.isEmpty()) name = "key-" + HexFormat.of().formatHex(hash).substring(0, 8);
        return new Entry(name, hash);
    }

    public boolean open() {
        return entries.isEmpty();
    }

    public int size() {
        return entries.size();
    }

    /** Where the keys came from, for the start message. */
    public String source() {
        return source;
    }

    /** The identity of the key, if it is one of ours (compared as hashes, in constant time per entry). */
    public Optional<String> identify(String key) {
        byte[] h = sha256(key);
        String found = null;
        for (Entry e : entries) {
            if (MessageDigest.isEqual(e.hash, h) && found == null) found = e.name;
        }
        return Optional.ofNullable(found);
    }

    static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
