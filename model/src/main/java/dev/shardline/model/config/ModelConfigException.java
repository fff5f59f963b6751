package dev.shardline.model.config;

/** A config.json that Shardline cannot serve: names the file, the field and the value. */
public final class ModelConfigException extends RuntimeException {
    public ModelConfigException(String message) {
        super(message);
    }

    public ModelConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
