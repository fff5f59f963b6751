package dev.shardline.model.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading errors, and a small hand-made tokenizer.json with "a b" string merges. */
class TokenizerFileTest {

    @Test
    void truncatedFileGivesAClearErrorNamingIt(@TempDir Path dir) throws IOException {
        byte[] real = Files.readAllBytes(QwenTestTokenizer.path());
        Path file = dir.resolve("tokenizer.json");
        Files.write(file, Arrays.copyOf(real, 5000));
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.load(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("not a valid tokenizer.json"), e.getMessage());
    }

    @Test
    void nonJsonAndMissingFilesAreNamed(@TempDir Path dir) throws IOException {
        Path html = dir.resolve("tokenizer.json");
        Files.writeString(html, "<html>404 Not Found</html>");
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.load(html));
        assertTrue(e.getMessage().contains(html.toString()), e.getMessage());

        Path missing = dir.resolve("nope.json");
        e = assertThrows(TokenizerException.class, () -> Tokenizer.load(missing));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());

        Path noModel = dir.resolve("empty.json");
        Files.writeString(noModel, "{\"added_tokens\": []}");
        e = assertThrows(TokenizerException.class, () -> Tokenizer.load(noModel));
        assertTrue(e.getMessage().contains("model"), e.getMessage());
    }

    /** A byte-level vocab of the 256 single bytes plus merges "h e", "he l", "hel l", "hell o" and "Ġ w". */
    private static String tinyTokenizer(String addedTokens, String merges) {
        StringBuilder vocab = new StringBuilder();
        for (int b = 0; b < 256; b++) {
            StringBuilder key = new StringBuilder();
            dev.shardline.model.json.Json.quote(key, String.valueOf(ByteLevel.charOf(b)));
            vocab.append(key).append(':').append(b).append(',');
        }
        vocab.append("\"he\":256,\"hel\":257,\"hell\":258,\"hello\":259,\"Ġw\":260");
        return "{\"added_tokens\":" + addedTokens + ",\"normalizer\":null,"
                + "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true},"
                + "\"decoder\":{\"type\":\"ByteLevel\"},"
                + "\"model\":{\"type\":\"BPE\",\"vocab\":{" + vocab + "},\"merges\":" + merges + "}}";
    }

    @Test
    void stringFormMergesAndAddedTokensFromTheFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, tinyTokenizer(
                "[{\"id\":262,\"content\":\"<eos>\",\"special\":true,\"normalized\":false}]",
                "[\"h e\",\"he l\",\"hel l\",\"hell o\",\"Ġ w\"]"));
        Tokenizer t = Tokenizer.load(file);
        assertEquals(263, t.vocabSize());
        assertArrayEquals(new int[] {259, 260, 'o', 262}, t.encode("hello wo<eos>"));
        assertEquals("hello wo<eos>", t.decode(t.encode("hello wo<eos>")));
        assertEquals("", t.decode(new int[] {261})); // a gap in the ids
        assertTrue(t.isSpecial(262));
    }

    @Test
    void mergeUsingAnUnknownTokenIsRejected(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, tinyTokenizer("[]", "[[\"h\",\"e\"],[\"x\",\"y\"]]"));
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.load(file));
        assertTrue(e.getMessage().contains("model.merges[1]") && e.getMessage().contains(file.toString()),
                e.getMessage());
    }
}
