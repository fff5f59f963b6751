package dev.shardline.model.tokenizer;

/**
 * One entry of tokenizer.json's {@code added_tokens}: matched atomically in input text (before normalization when
 * {@code normalized} is false). {@code special} only matters for {@link Tokenizer#isSpecial} and skipping on decode.
 */
public record AddedToken(int id, String content, boolean special, boolean normalized) {
}
