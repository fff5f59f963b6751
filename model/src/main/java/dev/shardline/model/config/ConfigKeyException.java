package dev.shardline.model.config;

/** A process configuration value (flag or environment variable) that cannot be used; names the key. */
public final class ConfigKeyException extends RuntimeException {
    private final String key;

    public ConfigKeyException(String key, String message) {
        super("config key \"" + key + "\": " + message);
        this.key = key;
    }

    public String key() {
        return key;
    }
}
