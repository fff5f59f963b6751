package dev.shardline.model.json;

/** Malformed JSON, with the line and column where parsing stopped. */
public final class JsonException extends RuntimeException {
    public JsonException(String message) {
        super(message);
    }
}
