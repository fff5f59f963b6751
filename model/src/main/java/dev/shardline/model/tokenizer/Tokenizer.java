package dev.shardline.model.tokenizer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;

/**
 * A Qwen2 (byte-level BPE) tokenizer driven by a Hugging Face tokenizer.json, matching HF {@code tokenizers}.
 *
 * <p>Encoding: added tokens are cut out of the raw text (leftmost-longest); each remaining piece is NFC-normalized,
 * split by the pre-tokenizer regex (Isolated), turned into UTF-8 bytes, and merged by BPE rank. No BOS is added.
 * Decoding: ids -> token strings -> bytes through the inverse ByteLevel table -> UTF-8 with U+FFFD replacement.
 * Ids that have no token (negative, or {@code >= vocabSize()}, or gaps such as the embedding's padding rows
 * 151669..152063 of Qwen2) decode to the empty string.
 *
 * <p>Thread-safe: the only mutable state is a bounded cache of pre-token -> ids.
 */
public final class Tokenizer {
    private static final int CACHE_LIMIT = 65_536;
    private static final int CACHE_MAX_PIECE = 64;

    private final TokenizerFile file;
    private final BytePairEncoder bpe;
    private final AddedTokenMatcher rawMatcher;        // added tokens with normalized=false
    private final AddedTokenMatcher normalizedMatcher; // added tokens with normalized=true
    private final byte[] tokenBytes;                   // bytes of all tokens, back to back
    private final int[] tokenStart;                    // [vocabSize + 1] id's bytes are tokenBytes[start[id]..start[id+1])
    private final boolean[] special;                   // [vocabSize]
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    private Tokenizer(TokenizerFile file) {
        this.file = file;
        this.bpe = new BytePairEncoder(file.mergeRanks(), file.mergedId());
        this.rawMatcher = new AddedTokenMatcher(file.addedTokens().stream().filter(t -> !t.normalized()).toList());
        this.normalizedMatcher = new AddedTokenMatcher(file.addedTokens().stream().filter(AddedToken::normalized).toList());
        String[] tokens = file.idToToken();
        this.tokenStart = new int[tokens.length + 1];
        byte[] all = new byte[1 << 20];
        int n = 0;
        for (int id = 0; id < tokens.length; id++) {
            tokenStart[id] = n;
            if (tokens[id] == null) continue;
            byte[] b = ByteLevel.tokenBytes(tokens[id]);
            if (n + b.length > all.length) all = Arrays.copyOf(all, Math.max(all.length * 2, n + b.length));
            System.arraycopy(b, 0, all, n, b.length);
            n += b.length;
        }
        tokenStart[tokens.length] = n;
        this.tokenBytes = Arrays.copyOf(all, n);
        this.special = new boolean[tokens.length];
        for (AddedToken t : file.addedTokens()) special[t.id()] = t.special();
    }

    /** Reads a tokenizer.json; throws {@link TokenizerException} naming the file when it is unreadable or unsupported. */
    public static Tokenizer load(Path tokenizerJson) {
        return new Tokenizer(TokenizerFile.read(tokenizerJson));
    }

    /** Qwen2's pre-tokenizer split (tokenizer.json's Split regex; llama.cpp's {@code tokenizer.ggml.pre} "qwen2"). */
    public static final String QWEN2_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** llama.cpp token types (GGUF {@code tokenizer.ggml.token_type}). */
    public static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    /**
     * A Qwen2 byte-level BPE tokenizer from a llama.cpp vocabulary ({@code tokenizer.ggml.model} "gpt2",
     * {@code tokenizer.ggml.pre} "qwen2"): tokens by id, their types, and the merges. CONTROL tokens become special
     * added tokens, USER_DEFINED ones non-special added tokens (as llama.cpp's converter maps tokenizer.json's added
     * tokens), UNUSED ones (the converter's {@code [PAD...]} fillers) are no token; NFC normalisation and Qwen2's
     * split, as in Qwen's tokenizer.json.
     */
    public static Tokenizer fromVocabulary(Path source, List<String> tokens, List<Integer> types, List<String> merges) {
        if (types != null && types.size() != tokens.size()) {
            throw new TokenizerException(source + ": " + tokens.size() + " tokens but " + types.size() + " token types");
        }
        java.util.Map<String, Object> vocab = new java.util.HashMap<>(tokens.size() * 2);
        List<AddedToken> added = new java.util.ArrayList<>();
        for (int id = 0; id < tokens.size(); id++) {
            int type = types == null ? NORMAL : types.get(id);
            switch (type) {
                case CONTROL -> added.add(new AddedToken(id, tokens.get(id), true, false));
                case USER_DEFINED -> added.add(new AddedToken(id, tokens.get(id), false, false));
                case UNUSED -> {
                }
                default -> vocab.putIfAbsent(tokens.get(id), (long) id);
            }
        }
        return new Tokenizer(TokenizerFile.assemble(source, source.toString(), vocab, added, merges, true,
                java.util.regex.Pattern.compile(QWEN2_PATTERN, java.util.regex.Pattern.UNICODE_CHARACTER_CLASS), false));
    }

    /** The file this tokenizer was loaded from. */
    public Path path() {
        return file.path();
    }

    /** Highest id (vocab or added token) + 1: 151669 for Qwen3/QwQ files. Smaller than the embedding's row count. */
    public int vocabSize() {
        return tokenStart.length - 1;
    }

    /** The added tokens of the file, in file order. */
    public List<AddedToken> addedTokens() {
        return file.addedTokens();
    }

    /** The id of a token by its exact content (an added token such as "<|im_end|>", or a ByteLevel vocab string). */
    public OptionalInt tokenId(String content) {
        int id = file.tokenToId().get(content);
        return id < 0 ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** True for added tokens flagged special (e.g. "<|im_end|>"); false for "<think>" and ordinary tokens. */
    public boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }

    /** The token's string as stored in the file (ByteLevel chars, e.g. "Ġthe"), or "" for an unknown id. */
    public String tokenText(int id) {
        String t = id >= 0 && id < vocabSize() ? file.idToToken()[id] : null;
        return t == null ? "" : t;
    }

    /** Appends the bytes id decodes to (none for an unknown id) to buf at n, growing it; returns the new buffer. */
    byte[] appendBytes(int id, byte[] buf, int n, int[] newSize) {
        int from = 0;
        int len = 0;
        if (id >= 0 && id < vocabSize()) {
            from = tokenStart[id];
            len = tokenStart[id + 1] - from;
        }
        if (n + len > buf.length) buf = Arrays.copyOf(buf, Math.max(buf.length * 2, n + len));
        System.arraycopy(tokenBytes, from, buf, n, len);
        newSize[0] = n + len;
        return buf;
    }

    /** Encodes text; added tokens written in the text (e.g. "<|im_start|>", "<think>") become their ids. */
    public int[] encode(String text) {
        IntBuffer out = new IntBuffer(Math.max(16, text.length() / 3));
        rawMatcher.split(text, new AddedTokenMatcher.Visitor() {
            @Override
            public void text(String t, int from, int to) {
                encodeText(t.substring(from, to), out, true);
            }

            @Override
            public void token(AddedToken token) {
                out.add(token.id());
            }
        });
        return out.toArray();
    }

    /** Encodes text as plain text: added-token strings in it are tokenized like any other characters. */
    public int[] encodeOrdinary(String text) {
        IntBuffer out = new IntBuffer(Math.max(16, text.length() / 3));
        encodeText(text, out, false);
        return out.toArray();
    }

    private void encodeText(String text, IntBuffer out, boolean addedTokens) {
        if (file.nfc() && !Normalizer.isNormalized(text, Normalizer.Form.NFC)) {
            text = Normalizer.normalize(text, Normalizer.Form.NFC);
        }
        if (addedTokens && !normalizedMatcher.isEmpty()) {
            normalizedMatcher.split(text, new AddedTokenMatcher.Visitor() {
                @Override
                public void text(String t, int from, int to) {
                    preTokenize(t.substring(from, to), out);
                }

                @Override
                public void token(AddedToken token) {
                    out.add(token.id());
                }
            });
        } else {
            preTokenize(text, out);
        }
    }

    private void preTokenize(String text, IntBuffer out) {
        Matcher m = file.split().matcher(text);
        int last = 0;
        while (m.find()) {
            if (m.start() > last) encodePiece(text.substring(last, m.start()), out);
            if (m.end() > m.start()) encodePiece(text.substring(m.start(), m.end()), out);
            last = m.end();
        }
        if (last < text.length()) encodePiece(text.substring(last), out);
    }

    private void encodePiece(String piece, IntBuffer out) {
        boolean cacheable = piece.length() <= CACHE_MAX_PIECE;
        if (cacheable) {
            int[] hit = cache.get(piece);
            if (hit != null) {
                out.addAll(hit);
                return;
            }
        }
        byte[] utf8 = piece.getBytes(StandardCharsets.UTF_8);
        int[] ids;
        int whole = file.ignoreMerges() ? file.tokenToId().get(ByteLevel.encode(utf8, 0, utf8.length)) : -1;
        if (whole >= 0) {
            ids = new int[] {whole};
        } else {
            int[] syms = new int[utf8.length];
            for (int i = 0; i < utf8.length; i++) syms[i] = file.byteToId()[utf8[i] & 0xFF];
            ids = bpe.merge(syms, syms.length);
        }
        if (cacheable) {
            if (cache.size() >= CACHE_LIMIT) cache.clear();
            cache.put(piece, ids);
        }
        out.addAll(ids);
    }

    /** Decodes ids to text, special tokens included; unknown ids give "". Invalid UTF-8 becomes U+FFFD. */
    public String decode(int[] ids) {
        return decode(ids, 0, ids.length, false);
    }

    /** Decodes ids[from..to); with skipSpecialTokens, tokens flagged special are left out (like HF). */
    public String decode(int[] ids, int from, int to, boolean skipSpecialTokens) {
        java.util.Objects.checkFromToIndex(from, to, ids.length);
        byte[] buf = new byte[Math.max(16, (to - from) * 4)];
        int[] n = {0};
        for (int i = from; i < to; i++) {
            if (skipSpecialTokens && isSpecial(ids[i])) continue;
            buf = appendBytes(ids[i], buf, n[0], n);
        }
        return new String(buf, 0, n[0], StandardCharsets.UTF_8);
    }

    /** Decodes a list of ids (see {@link #decode(int[])}). */
    public String decode(List<Integer> ids) {
        return decode(ids.stream().mapToInt(Integer::intValue).toArray());
    }

    /** A decoder for generated tokens that returns text as soon as its UTF-8 bytes are complete. */
    public StreamingDecoder newStreamingDecoder() {
        return new StreamingDecoder(this);
    }

    /** A growable int array. */
    private static final class IntBuffer {
        private int[] a;
        private int size;

        IntBuffer(int capacity) {
            a = new int[capacity];
        }

        void add(int v) {
            if (size == a.length) a = Arrays.copyOf(a, size * 2);
            a[size++] = v;
        }

        void addAll(int[] vs) {
            if (size + vs.length > a.length) a = Arrays.copyOf(a, Math.max(a.length * 2, size + vs.length));
            System.arraycopy(vs, 0, a, size, vs.length);
            size += vs.length;
        }

        int[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }
}
