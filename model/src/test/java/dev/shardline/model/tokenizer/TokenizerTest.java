package dev.shardline.model.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.OptionalInt;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizerTest {

    static final List<String> SAMPLES = List.of(
            "你好，世界！我想在苹果公司工作。今天天气很好。",
            "Привет, мир! Съешь же ещё этих мягких французских булок.",
            "مرحبا بالعالم، كيف حالك اليوم؟",
            "नमस्ते दुनिया, आप कैसे हैं?",
            "សួស្តី​ពិភពលោក កាន់តែពិសេស",
            "Tiếng Việt có dấu: Cửa Việt, người Việt Nam.",
            "public final class A {\n\tint x = 42;\n\t\treturn \"s\\n\";\r\n}\n",
            "def f(x):\n\tif x:\n\t\treturn [i ** 2 for i in range(10)]  # comment\n\n\n",
            "emoji 🦙🚀 family 👨‍👩‍👧‍👦 flag 🏳️‍🌈 skin 👍🏽 fog 😶‍🌫️ end",
            "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n<think>x</think><tool_call>{}</tool_call><|endoftext|>",
            "   leading and trailing spaces   \n\n\t \u00a0\u3000 unicode spaces\u2028line",
            "I'M SHOUTING, you'll see; it'S ok'd");

    @Test
    void roundTripsMultilingualCodeEmojiAndSpecialTokens() {
        Tokenizer t = QwenTestTokenizer.get();
        for (String s : SAMPLES) {
            assertEquals(s, t.decode(t.encode(s)), s);
            assertEquals(s, t.decode(t.encodeOrdinary(s)), s);
        }
    }

    @Test
    void vocabularyFacts() {
        Tokenizer t = QwenTestTokenizer.get();
        assertEquals(151669, t.vocabSize());
        assertEquals(26, t.addedTokens().size());
        assertEquals(OptionalInt.of(151645), t.tokenId("<|im_end|>"));
        assertEquals(OptionalInt.of(151667), t.tokenId("<think>"));
        assertEquals(OptionalInt.of(151668), t.tokenId("</think>"));
        assertEquals(OptionalInt.of(151643), t.tokenId("<|endoftext|>"));
        assertEquals(OptionalInt.empty(), t.tokenId("<|no such token|>"));
        assertTrue(t.isSpecial(151645));
        assertFalse(t.isSpecial(151667));
        assertFalse(t.isSpecial(9707));
        assertEquals("Hello", t.tokenText(9707));
        assertEquals("ĠHello", t.tokenText(21927));
        assertEquals("<|im_end|>", t.tokenText(151645));
    }

    @Test
    void unknownIdsDecodeToEmptyText() {
        Tokenizer t = QwenTestTokenizer.get();
        assertEquals("", t.decode(new int[] {151669, 152063, -1, Integer.MAX_VALUE}));
        assertEquals("Hello", t.decode(new int[] {151700, 9707, 152000}));
        assertEquals("", t.tokenText(152063));
        assertFalse(t.isSpecial(152063));
    }

    @Test
    void decodeCanSkipSpecialTokensAndTakeARange() {
        Tokenizer t = QwenTestTokenizer.get();
        int[] ids = t.encode("<|im_start|>assistant\n<think>\nHi<|im_end|>");
        assertEquals("assistant\n<think>\nHi", t.decode(ids, 0, ids.length, true));
        assertEquals("assistant", t.decode(ids, 1, 2, false));
        assertEquals("Hello world", t.decode(List.of(9707, 1879)));
    }

    @Test
    void heapAndScanBpeAgree() {
        Tokenizer t = QwenTestTokenizer.get();
        TokenizerFile f = TokenizerFile.read(t.path());
        BytePairEncoder bpe = new BytePairEncoder(f.mergeRanks(), f.mergedId());
        Random random = new Random(7);
        String alphabet = "aeiou tnsrl\n\t  ;{}()=+-_.,'\"0123456789中文한국😀";
        for (int k = 0; k < 300; k++) {
            StringBuilder sb = new StringBuilder();
            int len = 1 + random.nextInt(60);
            for (int i = 0; i < len; i++) sb.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0,
                    random.nextInt(alphabet.codePointCount(0, alphabet.length())))));
            byte[] utf8 = sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            int[] syms = new int[utf8.length];
            for (int i = 0; i < utf8.length; i++) syms[i] = f.byteToId()[utf8[i] & 0xFF];
            assertArrayEquals(bpe.mergeByScan(syms, syms.length), bpe.mergeByHeap(syms, syms.length), sb.toString());
        }
    }

    @Test
    void roundTripsAMegabyteOfTextAndPrintsTheEncodeSpeed() {
        Tokenizer t = QwenTestTokenizer.get();
        StringBuilder sb = new StringBuilder();
        Random random = new Random(1);
        String[] words = ("the of and to in is that for it as was with be by on not he this are or his from at which "
                + "but have an they you were their one all we can her has there been if more when will would who so "
                + "tokenizer merges Qwen inference throughput latency pipeline shard 2025 42,").split(" ");
        while (sb.length() < 1_000_000) {
            sb.append(words[random.nextInt(words.length)]);
            sb.append(random.nextInt(12) == 0 ? ".\n" : " ");
        }
        String text = sb.toString();
        int[] ids = t.encode(text); // warm-up
        long t0 = System.nanoTime();
        int reps = 3;
        for (int r = 0; r < reps; r++) ids = t.encode(text);
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("encode: %.1f MB/s (%d chars -> %d ids)%n", reps * text.length() / 1e6 / seconds,
                text.length(), ids.length);
        assertEquals(text, t.decode(ids));
    }
}
