package dev.shardline.model.gguf;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.config.ModelConfigException;
import dev.shardline.model.config.RopeScaling;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Typed reads of a GGUF file's metadata, and the {@link ModelConfig} a {@code qwen2} file implies. A missing or
 * mistyped key is an error naming the file and the key.
 */
public record GgufMetadata(Path file, Map<String, Object> map) {

    public boolean has(String key) {
        return map.containsKey(key);
    }

    public String string(String key) {
        if (!(map.get(key) instanceof String s)) {
            throw missing(key, "a string");
        }
        return s;
    }

    public String optString(String key, String dflt) {
        return has(key) ? string(key) : dflt;
    }

    public long integer(String key) {
        if (!(map.get(key) instanceof Long l)) {
            throw missing(key, "an integer");
        }
        return l;
    }

    public int int32(String key) {
        long v = integer(key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new ModelConfigException(file + ": metadata \"" + key + "\" = " + v + " is out of range");
        }
        return (int) v;
    }

    public int optInt(String key, int dflt) {
        return has(key) ? int32(key) : dflt;
    }

    public double real(String key) {
        Object v = map.get(key);
        if (v instanceof Double d) return d;
        if (v instanceof Long l) return l;
        throw missing(key, "a number");
    }

    public double optReal(String key, double dflt) {
        return has(key) ? real(key) : dflt;
    }

    public List<?> list(String key) {
        if (!(map.get(key) instanceof List<?> l)) {
            throw missing(key, "an array");
        }
        return l;
    }

    private ModelConfigException missing(String key, String what) {
        Object v = map.get(key);
        return new ModelConfigException(file + ": metadata \"" + key + "\" " + (v == null ? "is missing"
                : "is not " + what + " (found " + v.getClass().getSimpleName() + ")") + "; it must be " + what);
    }

    /**
     * The Qwen2 config: {@code qwen2.*} dimensions, rope base and scaling (YaRN), norm epsilon; the vocabulary size
     * and tying come from the tensors, BOS/EOS from {@code tokenizer.ggml.*}.
     */
    public ModelConfig qwen2Config(int vocabSize, boolean tied) {
        String arch = string("general.architecture");
        if (!arch.equals("qwen2")) {
            throw new ModelConfigException(file + ": metadata \"general.architecture\" is \"" + arch
                    + "\"; Shardline serves Qwen2-architecture models (\"qwen2\")");
        }
        int heads = int32("qwen2.attention.head_count");
        int context = optInt("qwen2.context_length", 32768);
        RopeScaling scaling = null;
        String type = optString("qwen2.rope.scaling.type", "none");
        switch (type) {
            case "none" -> {
            }
            case "yarn" -> {
                double factor = real("qwen2.rope.scaling.factor");
                if (!(factor >= 1.0)) {
                    throw new ModelConfigException(file + ": metadata \"qwen2.rope.scaling.factor\" is " + factor
                            + "; must be >= 1");
                }
                int original = optInt("qwen2.rope.scaling.original_context_length", (int) (context / factor));
                scaling = new RopeScaling("yarn", factor, original, optReal("qwen2.rope.scaling.yarn_beta_fast", 32),
                        optReal("qwen2.rope.scaling.yarn_beta_slow", 1),
                        optReal("qwen2.rope.scaling.attn_factor", 0.1 * Math.log(factor) + 1.0));
            }
            default -> throw new ModelConfigException(file + ": metadata \"qwen2.rope.scaling.type\" is \"" + type
                    + "\"; supported: \"yarn\" or \"none\"");
        }
        List<Integer> eos = has("tokenizer.ggml.eos_token_id") ? List.of(int32("tokenizer.ggml.eos_token_id")) : List.of();
        return new ModelConfig("qwen2",
                int32("qwen2.embedding_length"),
                int32("qwen2.feed_forward_length"),
                int32("qwen2.block_count"),
                heads,
                optInt("qwen2.attention.head_count_kv", heads),
                vocabSize,
                real("qwen2.attention.layer_norm_rms_epsilon"),
                optReal("qwen2.rope.freq_base", 10000.0),
                context,
                tied,
                scaling,
                "silu",
                "gguf",
                optInt("tokenizer.ggml.bos_token_id", -1),
                eos);
    }
}
