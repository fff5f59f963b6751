package dev.shardline.model.engine;

/**
 * Sizing of the single-process engine.
 *
 * @param kvBlocks       KV cache blocks (each {@code blockSize} tokens in every layer)
 * @param blockSize      tokens per KV block
 * @param maxBatchTokens token budget of one forward step (prefill chunks are cut to fit)
 */
public record EngineOptions(int kvBlocks, int blockSize, int maxBatchTokens) {

    public EngineOptions {
        if (kvBlocks <= 0 || blockSize <= 0 || maxBatchTokens <= 0) {
            throw new IllegalArgumentException("engine options must be positive: " + kvBlocks + ", " + blockSize + ", " + maxBatchTokens);
        }
    }

    public EngineOptions withMaxBatchTokens(int tokens) {
        return new EngineOptions(kvBlocks, blockSize, tokens);
    }

    /** Enough blocks for {@code contextTokens} positions in each of {@code sequences} sequences. */
    public static EngineOptions forContext(int contextTokens, int sequences) {
        int blockSize = 16;
        int blocks = sequences * ((contextTokens + blockSize - 1) / blockSize);
        return new EngineOptions(blocks, blockSize, 512);
    }
}
