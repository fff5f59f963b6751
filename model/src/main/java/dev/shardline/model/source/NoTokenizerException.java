package dev.shardline.model.source;

/** Text was asked of a checkpoint that has no tokenizer (token ids still work). */
public final class NoTokenizerException extends RuntimeException {
    public NoTokenizerException(String message) {
        super(message);
    }
}
