package dev.shardline.model.config;

import dev.shardline.model.json.Json;
import dev.shardline.model.json.JsonException;
import dev.shardline.model.json.JsonFields;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Qwen2-architecture config.json (QwQ-32B, Qwen2.5, the demo presets), validated once.
 * Every number the forward pass needs is here; head_dim is hidden_size / num_attention_heads.
 */
public record ModelConfig(
        String modelType,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int vocabSize,
        double rmsNormEps,
        double ropeTheta,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        RopeScaling ropeScaling,
        String hiddenAct,
        String torchDtype,
        int bosTokenId,
        List<Integer> eosTokenIds) {

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        validate("config.json", modelType, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, vocabSize, rmsNormEps, ropeTheta, maxPositionEmbeddings, hiddenAct);
    }

    /** 128 for QwQ-32B. */
    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Width of the k and v projections: kv heads x head dim (1024 for QwQ-32B). */
    public int kvDim() {
        return numKeyValueHeads * headDim();
    }

    /** Query heads that share one kv head (5 for QwQ-32B). */
    public int groupSize() {
        return numAttentionHeads / numKeyValueHeads;
    }

    public static ModelConfig read(Path configJson) {
        String text;
        try {
            text = Files.readString(configJson, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ModelConfigException("cannot read " + configJson + ": " + e.getMessage(), e);
        }
        try {
            return parse(configJson.toString(), text);
        } catch (JsonException e) {
            throw new ModelConfigException(e.getMessage(), e);
        }
    }

    public static ModelConfig parse(String source, String json) {
        try {
            return parseFields(source, json);
        } catch (JsonException e) {
            throw new ModelConfigException(e.getMessage(), e);
        }
    }

    private static ModelConfig parseFields(String source, String json) {
        JsonFields f;
        try {
            f = new JsonFields(source, Json.parseObject(json));
        } catch (JsonException e) {
            throw new ModelConfigException(source + ": " + e.getMessage(), e);
        }
        String modelType = f.requireString("model_type");
        if (!modelType.equals("qwen2")) {
            throw new ModelConfigException(source + ": field \"model_type\" is \"" + modelType
                    + "\"; Shardline serves Qwen2-architecture models (model_type \"qwen2\")");
        }
        int hidden = f.requireInt("hidden_size");
        int heads = f.requireInt("num_attention_heads");
        int kvHeads = f.optInt("num_key_value_heads", heads);
        if (f.has("head_dim") && heads > 0 && f.requireInt("head_dim") * heads != hidden) {
            throw new ModelConfigException(source + ": field \"head_dim\" is " + f.requireInt("head_dim")
                    + " but hidden_size / num_attention_heads is " + hidden + "/" + heads
                    + "; Qwen2 requires head_dim * num_attention_heads == hidden_size");
        }
        if (f.optBoolean("use_sliding_window", false)) {
            throw new ModelConfigException(source + ": field \"use_sliding_window\" is true; sliding-window "
                    + "attention is not supported (QwQ-32B and Qwen2.5 ship with it off)");
        }
        List<Integer> eos = eosIds(f);
        return new ModelConfig(
                modelType,
                hidden,
                f.requireInt("intermediate_size"),
                f.requireInt("num_hidden_layers"),
                heads,
                kvHeads,
                f.requireInt("vocab_size"),
                f.optDouble("rms_norm_eps", 1e-6),
                f.optDouble("rope_theta", 10000.0),
                f.optInt("max_position_embeddings", 32768),
                f.optBoolean("tie_word_embeddings", false),
                ropeScaling(f),
                f.optString("hidden_act", "silu"),
                f.optString("torch_dtype", "bfloat16"),
                f.optInt("bos_token_id", -1),
                eos);
    }

    private static List<Integer> eosIds(JsonFields f) {
        List<Integer> ids = new ArrayList<>();
        Object raw = f.raw("eos_token_id");
        if (raw instanceof Long l) {
            ids.add((int) (long) l);
        } else if (raw instanceof List<?> list) {
            for (Object o : list) {
                if (!(o instanceof Long l)) {
                    throw new ModelConfigException(f.source() + ": field \"eos_token_id\" must hold integers, found "
                            + Json.write(raw));
                }
                ids.add((int) (long) l);
            }
        } else if (raw != null) {
            throw new ModelConfigException(f.source() + ": field \"eos_token_id\" must be an integer or a list, found "
                    + Json.write(raw));
        }
        return ids;
    }

    private static RopeScaling ropeScaling(JsonFields f) {
        JsonFields rs = f.optObject("rope_scaling");
        if (rs == null) {
            return null;
        }
        String type = rs.has("type") ? rs.requireString("type") : rs.optString("rope_type", null);
        if (type == null) {
            throw new ModelConfigException(f.source() + ": field \"rope_scaling\" has no \"type\"");
        }
        if (type.equals("default")) {
            return null;
        }
        if (!type.equals("yarn")) {
            throw new ModelConfigException(f.source() + ": field \"rope_scaling.type\" is \"" + type
                    + "\"; supported: \"yarn\" (or no rope_scaling)");
        }
        double factor = rs.requireDouble("factor");
        if (!(factor >= 1.0)) {
            throw new ModelConfigException(f.source() + ": field \"rope_scaling.factor\" is " + factor + "; must be >= 1");
        }
        int maxPos = f.optInt("max_position_embeddings", 32768);
        int original = rs.optInt("original_max_position_embeddings", (int) (maxPos / factor));
        double betaFast = rs.optDouble("beta_fast", 32);
        double betaSlow = rs.optDouble("beta_slow", 1);
        double attentionFactor = rs.has("attention_factor") ? rs.requireDouble("attention_factor")
                : 0.1 * Math.log(factor) + 1.0;
        return new RopeScaling("yarn", factor, original, betaFast, betaSlow, attentionFactor);
    }

    private static void validate(String source, String modelType, int hidden, int intermediate, int layers, int heads,
                                 int kvHeads, int vocab, double eps, double theta, int maxPos, String act) {
        positive(source, "hidden_size", hidden);
        positive(source, "intermediate_size", intermediate);
        positive(source, "num_hidden_layers", layers);
        positive(source, "num_attention_heads", heads);
        positive(source, "num_key_value_heads", kvHeads);
        positive(source, "vocab_size", vocab);
        positive(source, "max_position_embeddings", maxPos);
        if (hidden % heads != 0) {
            throw new ModelConfigException(source + ": field \"num_attention_heads\" is " + heads
                    + ", which does not divide hidden_size " + hidden);
        }
        if (heads % kvHeads != 0) {
            throw new ModelConfigException(source + ": field \"num_key_value_heads\" is " + kvHeads
                    + ", which does not divide num_attention_heads " + heads);
        }
        if ((hidden / heads) % 2 != 0) {
            throw new ModelConfigException(source + ": head_dim " + (hidden / heads) + " is odd; RoPE needs an even head_dim");
        }
        if (!(eps > 0)) {
            throw new ModelConfigException(source + ": field \"rms_norm_eps\" is " + eps + "; must be > 0");
        }
        if (!(theta > 0)) {
            throw new ModelConfigException(source + ": field \"rope_theta\" is " + theta + "; must be > 0");
        }
        if (!"silu".equals(act)) {
            throw new ModelConfigException(source + ": field \"hidden_act\" is \"" + act + "\"; Qwen2 uses \"silu\"");
        }
    }

    private static void positive(String source, String field, int value) {
        if (value <= 0) {
            throw new ModelConfigException(source + ": field \"" + field + "\" is " + value + "; must be > 0");
        }
    }

    /** This config as config.json content (Hugging Face field names), for writing demo checkpoints. */
    public Map<String, Object> toJsonMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architectures", List.of("Qwen2ForCausalLM"));
        m.put("attention_dropout", 0.0);
        m.put("bos_token_id", (long) bosTokenId);
        m.put("eos_token_id", eosTokenIds.size() == 1 ? (Object) (long) eosTokenIds.getFirst()
                : eosTokenIds.stream().map(Integer::longValue).toList());
        m.put("hidden_act", hiddenAct);
        m.put("hidden_size", (long) hiddenSize);
        m.put("initializer_range", 0.02);
        m.put("intermediate_size", (long) intermediateSize);
        m.put("max_position_embeddings", (long) maxPositionEmbeddings);
        m.put("max_window_layers", (long) numHiddenLayers);
        m.put("model_type", modelType);
        m.put("num_attention_heads", (long) numAttentionHeads);
        m.put("num_hidden_layers", (long) numHiddenLayers);
        m.put("num_key_value_heads", (long) numKeyValueHeads);
        m.put("rms_norm_eps", rmsNormEps);
        m.put("rope_theta", ropeTheta);
        if (ropeScaling != null) {
            Map<String, Object> rs = new LinkedHashMap<>();
            rs.put("factor", ropeScaling.factor());
            rs.put("original_max_position_embeddings", (long) ropeScaling.originalMaxPositionEmbeddings());
            rs.put("type", ropeScaling.type());
            m.put("rope_scaling", rs);
        }
        m.put("sliding_window", 32768L);
        m.put("tie_word_embeddings", tieWordEmbeddings);
        m.put("torch_dtype", torchDtype);
        m.put("use_cache", true);
        m.put("use_sliding_window", false);
        m.put("vocab_size", (long) vocabSize);
        return m;
    }
}
