package dev.shardline.model.tokenizer;

import java.nio.file.Path;

/** The real Qwen tokenizer, fetched once through {@link QwenTokenizerSource} (its cache) and loaded once per JVM. */
final class QwenTestTokenizer {
    private static Tokenizer tokenizer;
    static long loadMillis;

    private QwenTestTokenizer() {
    }

    static synchronized Path path() {
        return QwenTokenizerSource.obtain(System.out::println);
    }

    static synchronized Tokenizer get() {
        if (tokenizer == null) {
            Path p = path();
            long t0 = System.nanoTime();
            tokenizer = Tokenizer.load(p);
            loadMillis = (System.nanoTime() - t0) / 1_000_000;
            System.out.println("Loaded " + p + " in " + loadMillis + " ms");
        }
        return tokenizer;
    }
}
