package dev.shardline.model.tokenizer;

import dev.shardline.model.json.Json;
import dev.shardline.model.json.JsonException;
import dev.shardline.model.json.JsonFields;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The parts of a Hugging Face tokenizer.json that a byte-level BPE tokenizer needs, read and checked once.
 * Supported: model BPE (merges as "a b" strings or [a, b] pairs), normalizer null or NFC, pre-tokenizer
 * Sequence[Split(Regex, Isolated), ByteLevel(use_regex false)] or ByteLevel(use_regex true) alone.
 */
record TokenizerFile(
        Path path,
        String[] idToToken,             // [vocabSize] token string (ByteLevel chars) or null for unused ids
        TokenIds tokenToId,             // vocab and added tokens
        LongIntMap mergeRanks,          // pair(left id, right id) -> rank
        int[] mergedId,                 // [merges] rank -> merged id
        int[] byteToId,                 // [256] id of each single-byte symbol
        List<AddedToken> addedTokens,
        boolean nfc,
        Pattern split,
        boolean ignoreMerges) {

    /** The GPT-2 pattern that ByteLevel uses when its use_regex is true. */
    static final String GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    static TokenizerFile read(Path path) {
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new TokenizerException("tokenizer file not found: " + path, e);
        } catch (CharacterCodingException e) {
            throw new TokenizerException(path + ": not UTF-8 text, so not a tokenizer.json", e);
        } catch (IOException e) {
            throw new TokenizerException("cannot read tokenizer file " + path + ": " + e, e);
        }
        Map<String, Object> root;
        try {
            root = Json.parseObject(text);
        } catch (JsonException e) {
            throw new TokenizerException(path + ": not a valid tokenizer.json (truncated or not JSON?): "
                    + e.getMessage(), e);
        }
        try {
            return build(path, new JsonFields(path.toString(), root));
        } catch (JsonException e) {
            throw new TokenizerException(e.getMessage(), e);
        }
    }

    private static TokenizerFile build(Path path, JsonFields root) {
        String src = path.toString();
        JsonFields model = root.optObject("model");
        if (model == null) throw new TokenizerException(src + ": required field \"model\" is missing");
        String type = model.optString("type", "BPE");
        if (!type.equals("BPE")) throw unsupported(src, "model.type", type);
        if (!model.optString("continuing_subword_prefix", "").isEmpty()) {
            throw unsupported(src, "model.continuing_subword_prefix", model.raw("continuing_subword_prefix"));
        }
        if (!model.optString("end_of_word_suffix", "").isEmpty()) {
            throw unsupported(src, "model.end_of_word_suffix", model.raw("end_of_word_suffix"));
        }
        if (model.has("dropout") && model.requireDouble("dropout") != 0.0) {
            throw unsupported(src, "model.dropout", model.raw("dropout"));
        }
        JsonFields vocab = model.optObject("vocab");
        if (vocab == null) throw new TokenizerException(src + ": required field \"model.vocab\" is missing");

        List<AddedToken> added = new ArrayList<>();
        List<Object> addedList = root.optList("added_tokens");
        if (addedList != null) {
            for (int i = 0; i < addedList.size(); i++) {
                added.add(addedToken(src, i, addedList.get(i)));
            }
        }
        List<Object> merges = model.optList("merges");
        if (merges == null) throw new TokenizerException(src + ": required field \"model.merges\" is missing");
        boolean nfc = normalizer(src, root.optObject("normalizer"));
        Pattern split = preTokenizer(src, root.optObject("pre_tokenizer"));
        boolean ignoreMerges = model.optBoolean("ignore_merges", false);
        return assemble(path, src, vocab.map(), added, merges, nfc, split, ignoreMerges);
    }

    /**
     * A tokenizer file from its parts (tokenizer.json's, or a GGUF vocabulary's): vocab token -> id (Long values),
     * the added tokens, merges ("a b" strings or pairs), NFC or not, and the pre-tokenizer split pattern.
     */
    static TokenizerFile assemble(Path path, String src, Map<String, Object> vocabMap, List<AddedToken> added,
                                  List<?> merges, boolean nfc, Pattern split, boolean ignoreMerges) {
        int maxId = -1;
        for (var e : vocabMap.entrySet()) {
            if (!(e.getValue() instanceof Long id) || id < 0 || id > Integer.MAX_VALUE - 8) {
                throw new TokenizerException(src + ": model.vocab entry \"" + e.getKey() + "\" must have a non-negative"
                        + " integer id, found " + Json.write(e.getValue()));
            }
            maxId = Math.max(maxId, (int) (long) id);
        }
        for (AddedToken t : added) {
            maxId = Math.max(maxId, t.id());
        }
        String[] idToToken = new String[maxId + 1];
        for (var e : vocabMap.entrySet()) idToToken[(int) (long) (Long) e.getValue()] = e.getKey();
        Map<String, Integer> addedIds = new HashMap<>();
        for (AddedToken t : added) {
            idToToken[t.id()] = t.content();
            addedIds.put(t.content(), t.id());
        }
        TokenIds tokenToId = new TokenIds(vocabMap, addedIds);

        int[] byteToId = new int[256];
        for (int b = 0; b < 256; b++) {
            int id = tokenToId.get(String.valueOf(ByteLevel.charOf(b)));
            if (id < 0) {
                throw new TokenizerException(src + ": model.vocab lacks the single-byte token \""
                        + ByteLevel.charOf(b) + "\" for byte " + b + "; not a byte-level BPE vocabulary");
            }
            byteToId[b] = id;
        }

        LongIntMap ranks = new LongIntMap(merges.size());
        int[] mergedId = new int[merges.size()];
        for (int rank = 0; rank < merges.size(); rank++) {
            String[] pair = mergePair(src, rank, merges.get(rank));
            int left = tokenToId.get(pair[0]);
            int right = tokenToId.get(pair[1]);
            int merged = tokenToId.get(pair[0].concat(pair[1]));
            if (left < 0 || right < 0 || merged < 0) {
                throw new TokenizerException(src + ": model.merges[" + rank + "] " + Json.write(List.of(pair[0], pair[1]))
                        + " uses a token that is not in model.vocab");
            }
            mergedId[rank] = merged;
            ranks.putIfAbsent(LongIntMap.pair(left, right), rank);
        }
        return new TokenizerFile(path, idToToken, tokenToId, ranks, mergedId, byteToId, List.copyOf(added), nfc,
                split, ignoreMerges);
    }

    /** Token string -> id over the parsed vocab object (values are Longs) and the added tokens, which win. */
    record TokenIds(Map<String, Object> vocab, Map<String, Integer> added) {
        /** The id, or -1. */
        int get(String token) {
            Integer a = added.get(token);
            if (a != null) return a;
            return vocab.get(token) instanceof Long id ? (int) (long) id : -1;
        }
    }

    @SuppressWarnings("unchecked")
    private static AddedToken addedToken(String src, int index, Object value) {
        if (!(value instanceof Map)) {
            throw new TokenizerException(src + ": added_tokens[" + index + "] must be an object");
        }
        JsonFields f = new JsonFields(src + " added_tokens[" + index + "]", (Map<String, Object>) value);
        int id = f.requireInt("id");
        if (id < 0 || id > Integer.MAX_VALUE - 8) throw new TokenizerException(f.source() + ": bad id " + id);
        String content = f.requireString("content");
        for (String flag : List.of("lstrip", "rstrip", "single_word")) {
            if (f.optBoolean(flag, false)) throw unsupported(f.source(), flag, true);
        }
        return new AddedToken(id, content, f.optBoolean("special", false), f.optBoolean("normalized", false));
    }

    private static String[] mergePair(String src, int rank, Object m) {
        if (m instanceof String s) {
            int space = s.indexOf(' ');
            if (space > 0 && space < s.length() - 1 && s.indexOf(' ', space + 1) < 0) {
                return new String[] {s.substring(0, space), s.substring(space + 1)};
            }
        } else if (m instanceof List<?> l && l.size() == 2 && l.get(0) instanceof String a
                && l.get(1) instanceof String b) {
            return new String[] {a, b};
        }
        throw new TokenizerException(src + ": model.merges[" + rank + "] must be \"a b\" or [\"a\", \"b\"], found "
                + Json.write(m));
    }

    private static boolean normalizer(String src, JsonFields n) {
        if (n == null) return false;
        String type = n.optString("type", "");
        return switch (type) {
            case "NFC" -> true;
            case "Sequence" -> {
                List<Object> list = n.optList("normalizers");
                if (list == null || list.isEmpty()) yield false;
                if (list.size() == 1 && list.getFirst() instanceof Map<?, ?> m && "NFC".equals(m.get("type"))) yield true;
                throw unsupported(src, "normalizer", n.map());
            }
            default -> throw unsupported(src, "normalizer.type", type);
        };
    }

    @SuppressWarnings("unchecked")
    private static Pattern preTokenizer(String src, JsonFields p) {
        if (p == null) throw new TokenizerException(src + ": required field \"pre_tokenizer\" is missing");
        String type = p.optString("type", "");
        String regex;
        if (type.equals("ByteLevel") && p.optBoolean("use_regex", true) && !p.optBoolean("add_prefix_space", false)) {
            regex = GPT2_PATTERN;
        } else if (type.equals("Sequence") && p.optList("pretokenizers") instanceof List<Object> l && l.size() == 2
                && l.get(0) instanceof Map<?, ?> a && l.get(1) instanceof Map<?, ?> b) {
            JsonFields splitter = new JsonFields(src + " pre_tokenizer.pretokenizers[0]", (Map<String, Object>) a);
            JsonFields byteLevel = new JsonFields(src + " pre_tokenizer.pretokenizers[1]", (Map<String, Object>) b);
            JsonFields pattern = splitter.optObject("pattern");
            if (!splitter.optString("type", "").equals("Split") || !splitter.optString("behavior", "").equals("Isolated")
                    || splitter.optBoolean("invert", false) || pattern == null || !pattern.has("Regex")
                    || !byteLevel.optString("type", "").equals("ByteLevel") || byteLevel.optBoolean("use_regex", true)
                    || byteLevel.optBoolean("add_prefix_space", false)) {
                throw unsupported(src, "pre_tokenizer", p.map());
            }
            regex = pattern.requireString("Regex");
        } else {
            throw unsupported(src, "pre_tokenizer", p.map());
        }
        try {
            // Rust/Oniguruma \s, \d, \w are Unicode-aware; Java's are ASCII unless asked.
            return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
        } catch (PatternSyntaxException e) {
            throw new TokenizerException(src + ": pre_tokenizer regex does not compile in Java: " + e.getMessage(), e);
        }
    }

    private static TokenizerException unsupported(String src, String field, Object value) {
        String shown = Json.write(value);
        if (shown.length() > 300) shown = shown.substring(0, 300) + "...";
        return new TokenizerException(src + ": unsupported " + field + " " + shown
                + " (this tokenizer handles Qwen2-style byte-level BPE only)");
    }
}
