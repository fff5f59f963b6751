package dev.shardline.model.tokenizer;

/** A tokenizer.json that cannot be read or that asks for something this tokenizer does not do; names the file. */
public class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
