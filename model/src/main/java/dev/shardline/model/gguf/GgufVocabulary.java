package dev.shardline.model.gguf;

import dev.shardline.model.safetensors.CheckpointException;
import dev.shardline.model.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The tokenizer a GGUF file carries: {@code tokenizer.ggml.model} "gpt2" with {@code tokenizer.ggml.pre} "qwen2"
 * (Qwen2's byte-level BPE: tokens, token types, merges) becomes a {@link Tokenizer} equal to the one from Qwen's
 * tokenizer.json; "none" (or no vocabulary) means token ids only; anything else is an error naming the key.
 */
public final class GgufVocabulary {

    private GgufVocabulary() {
    }

    /** Checks that the vocabulary is one Shardline reads (or none), naming the key otherwise. */
    public static void check(GgufMetadata md) {
        String model = md.optString("tokenizer.ggml.model", "none");
        if (model.equals("none")) {
            return;
        }
        if (!model.equals("gpt2")) {
            throw new CheckpointException(md.file() + ": metadata \"tokenizer.ggml.model\" is \"" + model
                    + "\"; Shardline reads Qwen2's byte-level BPE (\"gpt2\" with tokenizer.ggml.pre \"qwen2\") or \"none\"");
        }
        String pre = md.optString("tokenizer.ggml.pre", "default");
        if (!pre.equals("qwen2")) {
            throw new CheckpointException(md.file() + ": metadata \"tokenizer.ggml.pre\" is \"" + pre
                    + "\"; only Qwen2's pre-tokenizer (\"qwen2\") is supported");
        }
    }

    /** The tokenizer of the file whose metadata this is, or empty when it has none. */
    public static Optional<Tokenizer> tokenizer(GgufMetadata md) {
        if (md.optString("tokenizer.ggml.model", "none").equals("none")) {
            return Optional.empty();
        }
        check(md);
        List<String> tokens = strings(md, "tokenizer.ggml.tokens");
        List<String> merges = strings(md, "tokenizer.ggml.merges");
        List<Integer> types = null;
        if (md.has("tokenizer.ggml.token_type")) {
            types = new ArrayList<>();
            for (Object o : md.list("tokenizer.ggml.token_type")) {
                if (!(o instanceof Long l)) {
                    throw new CheckpointException(md.file() + ": metadata \"tokenizer.ggml.token_type\" holds "
                            + o.getClass().getSimpleName() + ", not integers");
                }
                types.add((int) (long) l);
            }
        }
        Path file = md.file();
        return Optional.of(Tokenizer.fromVocabulary(file, tokens, types, merges));
    }

    private static List<String> strings(GgufMetadata md, String key) {
        List<?> raw = md.list(key);
        List<String> out = new ArrayList<>(raw.size());
        for (Object o : raw) {
            if (!(o instanceof String s)) {
                throw new CheckpointException(md.file() + ": metadata \"" + key + "\" holds "
                        + o.getClass().getSimpleName() + ", not strings");
            }
            out.add(s);
        }
        return out;
    }
}
