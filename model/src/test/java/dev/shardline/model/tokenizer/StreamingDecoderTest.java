package dev.shardline.model.tokenizer;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class StreamingDecoderTest {

    @Test
    void pushingIdsOneByOneNeverSplitsACharacter() {
        Tokenizer t = QwenTestTokenizer.get();
        for (String text : TokenizerTest.SAMPLES) {
            int[] ids = t.encode(text);
            StreamingDecoder d = t.newStreamingDecoder();
            StringBuilder sb = new StringBuilder();
            for (int id : ids) {
                String piece = d.push(id);
                assertFalse(piece.contains("\uFFFD"), "U+FFFD mid-stream in " + text);
                if (!piece.isEmpty()) assertFalse(Character.isHighSurrogate(piece.charAt(piece.length() - 1)));
                sb.append(piece);
            }
            assertEquals(0, d.pendingBytes());
            sb.append(d.flush());
            assertEquals(text, sb.toString());
        }
    }

    @Test
    void emojiSplitAcrossTokensIsHeldBackUntilComplete() {
        Tokenizer t = QwenTestTokenizer.get();
        // " 🦙" -> 11162 99 247: the llama's 4 UTF-8 bytes span three tokens (llama.cpp vector 18)
        StreamingDecoder d = t.newStreamingDecoder();
        assertEquals(" ", d.push(11162)); // the space is complete; the emoji's first bytes are held
        assertEquals("", d.push(99));
        assertEquals("\uD83E\uDD99", d.push(247));
        assertEquals("", d.flush());
    }

    @Test
    void incompleteTailBecomesReplacementOnFlushAndUnknownIdsAddNothing() {
        Tokenizer t = QwenTestTokenizer.get();
        StreamingDecoder d = t.newStreamingDecoder();
        assertEquals(" ", d.push(11162)); // " " + first bytes of a 4-byte character
        assertEquals(2, d.pendingBytes());
        assertEquals("", d.push(152000)); // embedding padding row: no text
        assertEquals("\uFFFD", d.flush());
        assertEquals(" \uFFFD", t.decode(new int[] {11162}));
        assertEquals("", d.flush());
    }

    @Test
    void invalidBytesAreReplacedAtOnceLikeWholeDecode() {
        Tokenizer t = QwenTestTokenizer.get();
        int ff = t.tokenId(String.valueOf(ByteLevel.charOf(0xFF))).orElseThrow(); // never valid in UTF-8
        int a = t.tokenId("a").orElseThrow();
        StreamingDecoder d = t.newStreamingDecoder();
        assertEquals("\uFFFD", d.push(ff));
        assertEquals("a", d.push(a));
        assertEquals("\uFFFDa", t.decode(new int[] {ff, a}));
    }

    @Test
    void completePrefixHoldsOnlyPossiblyValidTails() {
        assertEquals(1, StreamingDecoder.completePrefix(new byte[] {'x', (byte) 0xE4, (byte) 0xB8}, 3));
        assertEquals(3, StreamingDecoder.completePrefix(new byte[] {'x', (byte) 0xE0, (byte) 0x80}, 3)); // bad 2nd
        assertEquals(2, StreamingDecoder.completePrefix(new byte[] {'x', (byte) 0xC3, (byte) 0xA9}, 2 + 1) - 1);
        assertEquals(0, StreamingDecoder.completePrefix(new byte[] {(byte) 0xF0, (byte) 0x9F, (byte) 0x98}, 3));
        assertEquals(4, StreamingDecoder.completePrefix(new byte[] {(byte) 0xF0, (byte) 0x9F, (byte) 0x98, (byte) 0x81}, 4));
        assertEquals(1, StreamingDecoder.completePrefix(new byte[] {(byte) 0x80}, 1));
    }
}
