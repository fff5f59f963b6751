package dev.shardline.model.engine;

/**
 * One finished sequence: its generated token ids (the stopping EOS id included when it ended on one), why it
 * ended, and timings: prefill is the time until the first token was chosen, decode the time after that.
 */
public record GenerationResult(int[] promptTokens, int[] tokens, FinishReason finishReason,
                               long prefillNanos, long decodeNanos) {

    public double prefillTokensPerSecond() {
        return prefillNanos == 0 ? 0 : promptTokens.length / (prefillNanos / 1e9);
    }

    /** Tokens after the first, per second of decode time. */
    public double decodeTokensPerSecond() {
        return tokens.length <= 1 || decodeNanos == 0 ? 0 : (tokens.length - 1) / (decodeNanos / 1e9);
    }
}
