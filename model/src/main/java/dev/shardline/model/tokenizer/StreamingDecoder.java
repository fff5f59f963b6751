package dev.shardline.model.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * Turns generated ids into text one at a time. A token may end in the middle of a UTF-8 character (emoji and CJK are
 * often split across tokens); {@link #push} holds such trailing bytes back until they complete, so it never returns
 * half a character. Bytes that can never become valid are emitted as U+FFFD right away, exactly where a whole-text
 * {@link Tokenizer#decode} would put them, so the concatenation of all pushes and the final {@link #flush} equals
 * {@code decode} of all ids. Not thread-safe: one per generation stream.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private byte[] pending = new byte[16];
    private int size;
    private final int[] newSize = new int[1];

    StreamingDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Adds one id and returns the text that became complete ("" if none). Unknown ids add nothing. */
    public String push(int id) {
        pending = tokenizer.appendBytes(id, pending, size, newSize);
        size = newSize[0];
        int cut = completePrefix(pending, size);
        if (cut == 0) return "";
        String text = new String(pending, 0, cut, StandardCharsets.UTF_8);
        System.arraycopy(pending, cut, pending, 0, size - cut);
        size -= cut;
        return text;
    }

    /** Returns whatever is still held back, with U+FFFD for an incomplete trailing character, and resets. */
    public String flush() {
        String text = new String(pending, 0, size, StandardCharsets.UTF_8);
        size = 0;
        return text;
    }

    /** Number of bytes held back so far (0..3). */
    public int pendingBytes() {
        return size;
    }

    /** Length of the prefix of b[0..n) that does not end inside a character that could still become valid. */
    static int completePrefix(byte[] b, int n) {
        int p = n - 1;
        while (p >= 0 && p >= n - 4 && (b[p] & 0xC0) == 0x80) p--;
        if (p < 0 || p < n - 4) return n;
        int lead = b[p] & 0xFF;
        int need;
        if (lead >= 0xC2 && lead <= 0xDF) need = 2;
        else if (lead >= 0xE0 && lead <= 0xEF) need = 3;
        else if (lead >= 0xF0 && lead <= 0xF4) need = 4;
        else return n; // ASCII or a byte that is invalid anyway
        if (n - p >= need) return n;
        if (n - p >= 2) {
            int second = b[p + 1] & 0xFF;
            int lo = 0x80;
            int hi = 0xBF;
            switch (lead) {
                case 0xE0 -> lo = 0xA0;
                case 0xED -> hi = 0x9F;
                case 0xF0 -> lo = 0x90;
                case 0xF4 -> hi = 0x8F;
                default -> { }
            }
            if (second < lo || second > hi) return n;
        }
        return p;
    }
}
