package dev.shardline.coordinator.generation;

/** Token counts of one request: the prompt (after the chat template), generated tokens and, of those, reasoning. */
public record Usage(int promptTokens, int completionTokens, int reasoningTokens) {

    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
