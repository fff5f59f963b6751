package dev.shardline.model.engine;

/**
 * A finished text generation: the prompt and generated ids, the full text (special tokens left out, stop string
 * cut), its reasoning and answer parts in chat mode (null otherwise), why it stopped, and the engine's timings.
 */
public record TextResult(int[] prompt, int[] generated, String text, String reasoning, String answer,
                         FinishReason finishReason, GenerationResult timings) {
}
