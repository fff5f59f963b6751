package dev.shardline.model.tokenizer;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reference ids from HF tokenizers: llama.cpp's Qwen2 vectors and a few hand-checked pairs. */
class TokenizerVectorsTest {

    private static String resource(String name) throws IOException {
        try (InputStream in = TokenizerVectorsTest.class.getResourceAsStream("/tokenizer/" + name)) {
            if (in == null) throw new IOException("missing test resource /tokenizer/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void allLlamaCppQwen2VectorsMatch() throws IOException {
        Tokenizer t = QwenTestTokenizer.get();
        List<String> texts = new ArrayList<>(Arrays.asList(
                resource("ggml-vocab-qwen2.gguf.inp").split("\n__ggml_vocab_test__\n", -1)));
        assertEquals("", texts.removeLast(), "the .inp file ends with a separator");
        List<String> lines = new ArrayList<>(Arrays.asList(resource("ggml-vocab-qwen2.gguf.out").split("\n", -1)));
        assertEquals("", lines.removeLast());
        assertEquals(46, texts.size());
        assertEquals(texts.size(), lines.size());
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            String line = lines.get(i).trim();
            int[] expected = line.isEmpty() ? new int[0]
                    : Arrays.stream(line.split(" ")).mapToInt(Integer::parseInt).toArray();
            int[] actual = t.encode(texts.get(i));
            if (!Arrays.equals(expected, actual)) {
                failures.add(i + ": " + texts.get(i) + "\n  expected " + Arrays.toString(expected)
                        + "\n  actual   " + Arrays.toString(actual));
            }
            assertEquals(texts.get(i), t.decode(actual), "round trip of vector " + i);
        }
        System.out.println("llama.cpp qwen2 vectors: " + (texts.size() - failures.size()) + "/" + texts.size() + " pass");
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    @Test
    void quickBrownFox() {
        assertArrayEquals(new int[] {785, 3974, 13876, 38835, 34208, 916, 279, 15678, 5562, 13},
                QwenTestTokenizer.get().encode("The quick brown fox jumps over the lazy dog."));
    }

    @Test
    void chatTurnRecognisesAddedTokens() {
        assertArrayEquals(new int[] {151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198, 151667, 198},
                QwenTestTokenizer.get().encode("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n"));
    }

    @Test
    void encodeOrdinaryTreatsAddedTokensAsText() {
        Tokenizer t = QwenTestTokenizer.get();
        assertArrayEquals(new int[] {13708, 766, 397}, t.encodeOrdinary("<think>\n"));
        assertArrayEquals(new int[] {151667, 198}, t.encode("<think>\n"));
    }

    @Test
    void textIsNfcNormalized() {
        Tokenizer t = QwenTestTokenizer.get();
        assertArrayEquals(new int[] {963}, t.encode("e\u0301"));
        assertArrayEquals(new int[] {963}, t.encode("\u00e9"));
        assertEquals("\u00e9", t.decode(t.encode("e\u0301")));
    }

    @Test
    void digitsAreSplitOneByOneAndLongRunsWork() {
        Tokenizer t = QwenTestTokenizer.get();
        assertArrayEquals(new int[] {18, 18, 18}, t.encode("333"));
        String spaces = " ".repeat(5000) + "x" + "\n".repeat(3000) + "=".repeat(700);
        assertEquals(spaces, t.decode(t.encode(spaces)));
    }
}
