package dev.shardline.model.tokenizer;

import dev.shardline.model.gguf.GgufFile;
import dev.shardline.model.gguf.GgufMetadata;
import dev.shardline.model.gguf.GgufVocabulary;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tokenizer read from llama.cpp's own Qwen2 vocabulary file (ggml-vocab-qwen2.gguf, written by llama.cpp's
 * converter: tokenizer.ggml.model gpt2, pre qwen2) passes every llama.cpp Qwen2 vector and encodes and decodes like
 * the tokenizer.json one on the vectors, chat turns and random text.
 */
class GgufTokenizerTest {

    static Tokenizer fromGguf() {
        try (GgufFile f = GgufFile.open(resourcePath("ggml-vocab-qwen2.gguf"))) {
            return GgufVocabulary.tokenizer(new GgufMetadata(f.file(), f.metadata())).orElseThrow();
        }
    }

    private static Path resourcePath(String name) {
        try {
            return Path.of(GgufTokenizerTest.class.getResource("/tokenizer/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = GgufTokenizerTest.class.getResourceAsStream("/tokenizer/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static List<String> vectors() throws IOException {
        List<String> texts = new ArrayList<>(Arrays.asList(
                resource("ggml-vocab-qwen2.gguf.inp").split("\n__ggml_vocab_test__\n", -1)));
        texts.removeLast();
        return texts;
    }

    @Test
    void passesEveryLlamaCppQwen2Vector() throws IOException {
        Tokenizer t = fromGguf();
        List<String> texts = vectors();
        List<String> lines = new ArrayList<>(Arrays.asList(resource("ggml-vocab-qwen2.gguf.out").split("\n", -1)));
        lines.removeLast();
        assertEquals(46, texts.size());
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            String line = lines.get(i).trim();
            int[] expected = line.isEmpty() ? new int[0]
                    : Arrays.stream(line.split(" ")).mapToInt(Integer::parseInt).toArray();
            int[] actual = t.encode(texts.get(i));
            if (!Arrays.equals(expected, actual)) {
                failures.add(i + ": expected " + Arrays.toString(expected) + " actual " + Arrays.toString(actual));
            }
            assertEquals(texts.get(i), t.decode(actual), "round trip of vector " + i);
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    @Test
    void equalsTheTokenizerJsonOne() throws IOException {
        Tokenizer gguf = fromGguf();
        Tokenizer json = QwenTestTokenizer.get();
        List<String> texts = new ArrayList<>(vectors());
        texts.add("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
        texts.add("<|endoftext|> e\u0301 333 \n\n  x");
        SplittableRandom rnd = new SplittableRandom(13);
        String alphabet = "aé 漢字\n\t1234567890!?'sA  Ωж🙂-_.,:;()[]{}<>";
        for (int n = 0; n < 200; n++) {
            StringBuilder sb = new StringBuilder();
            int len = 1 + rnd.nextInt(40);
            for (int i = 0; i < len; i++) sb.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0,
                    rnd.nextInt(alphabet.codePointCount(0, alphabet.length())))));
            texts.add(sb.toString());
        }
        for (String text : texts) {
            assertArrayEquals(json.encode(text), gguf.encode(text), "encoding of " + text);
        }
        // every id both know decodes to the same bytes; the vocab file is Qwen1.5's, whose converter filled ids
        // past its 151646 tokens with "[PAD<id>]" (Qwen3/QwQ added more tokens there)
        int common = Math.min(gguf.vocabSize(), json.vocabSize());
        int compared = 0;
        for (int id = 0; id < common; id++) {
            String g = gguf.decode(new int[] {id});
            if (g.equals("[PAD" + id + "]")) continue;
            assertEquals(json.decode(new int[] {id}), g, "token " + id);
            compared++;
        }
        assertTrue(compared >= 151646, "tokens compared: " + compared);
        for (String special : List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>")) {
            assertEquals(json.tokenId(special), gguf.tokenId(special), special);
            assertTrue(gguf.isSpecial(gguf.tokenId(special).getAsInt()), special + " is special");
        }
    }
}
