package dev.shardline.model.demo;

import dev.shardline.model.chat.ChatTemplate;

import dev.shardline.model.json.Json;
import dev.shardline.model.json.JsonException;
import dev.shardline.model.safetensors.CheckpointException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer_config.json a demo checkpoint gets: QwQ-32B's values (no BOS, eos {@code <|im_end|>}, pad
 * {@code <|endoftext|>}), its 26 added tokens, and the QwQ chat template (resource qwq-chat-template.jinja).
 */
public final class DemoTokenizerConfig {
    /** Added tokens 151643..151668; the first 14 and no others are "special". */
    static final List<String> ADDED_TOKENS = List.of(
            "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
            "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
            "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
            "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<tool_response>",
            "</tool_response>", "<think>", "</think>");
    static final int FIRST_ADDED_ID = 151643;
    private static final int SPECIAL_COUNT = 14;

    private DemoTokenizerConfig() {
    }

    /**
     * The QwQ chat template text. The resource file ends with a newline like any text file; the template string is
     * the text without that final newline (Jinja drops a single trailing newline anyway).
     */
    public static String chatTemplate() {
        String s = ChatTemplate.qwqJinjaSource();
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    /**
     * The config as a JSON map. If {@code npmConfig} (a tokenizer_config.json from the npm tokenizer packages) is
     * given, its added_tokens_decoder is used; everything else is QwQ's.
     */
    public static Map<String, Object> build(Path npmConfig) {
        Object addedTokens = npmConfig == null ? addedTokensDecoder() : addedTokensFrom(npmConfig);
        List<String> additional = new ArrayList<>(ADDED_TOKENS.subList(1, SPECIAL_COUNT)); // 151644..151656
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("add_bos_token", false);
        m.put("add_prefix_space", false);
        m.put("added_tokens_decoder", addedTokens);
        m.put("additional_special_tokens", additional);
        m.put("bos_token", null);
        m.put("chat_template", chatTemplate());
        m.put("clean_up_tokenization_spaces", false);
        m.put("eos_token", "<|im_end|>");
        m.put("errors", "replace");
        m.put("model_max_length", 131072L);
        m.put("pad_token", "<|endoftext|>");
        m.put("split_special_tokens", false);
        m.put("tokenizer_class", "Qwen2Tokenizer");
        m.put("unk_token", null);
        return m;
    }

    static Map<String, Object> addedTokensDecoder() {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < ADDED_TOKENS.size(); i++) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("content", ADDED_TOKENS.get(i));
            t.put("lstrip", false);
            t.put("normalized", false);
            t.put("rstrip", false);
            t.put("single_word", false);
            t.put("special", i < SPECIAL_COUNT);
            m.put(Integer.toString(FIRST_ADDED_ID + i), t);
        }
        return m;
    }

    private static Object addedTokensFrom(Path npmConfig) {
        try {
            Map<String, Object> json = Json.parseObject(Files.readString(npmConfig, StandardCharsets.UTF_8));
            Object decoder = json.get("added_tokens_decoder");
            return decoder instanceof Map ? decoder : addedTokensDecoder();
        } catch (IOException e) {
            throw new CheckpointException(npmConfig + ": cannot read: " + e.getMessage(), e);
        } catch (JsonException e) {
            throw new CheckpointException(npmConfig + ": not valid JSON: " + e.getMessage(), e);
        }
    }
}
