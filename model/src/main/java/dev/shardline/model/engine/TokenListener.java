package dev.shardline.model.engine;

/** Sees each generated token as soon as it is chosen; returning false stops the sequence (a stop string, a cancel). */
@FunctionalInterface
public interface TokenListener {
    boolean onToken(int token);

    TokenListener NONE = token -> true;
}
