package dev.shardline.coordinator.generation;

/**
 * One move of a request to another pipeline: where from, why, how many tokens it had generated, and how many rows
 * the next pipeline computed before its next token ({@code reprefilledRows}: prompt + those tokens when the move was
 * clean; -1 while it has not produced a token since).
 */
public record Migration(int fromPipeline, Cause cause, int generatedBefore, int promptTokens, int reprefilledRows) {

    public enum Cause {
        /** Its pipeline lost a worker. */
        FAILURE,
        /** Its pipeline was drained. */
        DRAIN
    }
}
