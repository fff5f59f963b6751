package dev.shardline.coordinator.generation;

import java.time.Duration;

/**
 * Settings of the generation service.
 *
 * @param sinkBufferTokens tokens a consumer may fall behind before its request is cancelled
 * @param testHooks        accept {@code forcedTokenIds} (tests only)
 * @param retryAfter       what an overloaded answer tells clients to wait
 * @param maxPromptTokens  longest prompt accepted (0 = the model's context)
 */
public record GenerationSettings(int sinkBufferTokens, boolean testHooks, Duration retryAfter, int maxPromptTokens) {

    public GenerationSettings(int sinkBufferTokens, boolean testHooks, Duration retryAfter) {
        this(sinkBufferTokens, testHooks, retryAfter, 0);
    }
}
