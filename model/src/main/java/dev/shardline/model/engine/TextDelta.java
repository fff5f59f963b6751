package dev.shardline.model.engine;

/**
 * Newly generated text. In chat mode with a reasoning model the text is split into the part inside
 * {@code <think>} (reasoning) and the part after {@code </think>} (answer); otherwise all of it is answer.
 */
public record TextDelta(String reasoning, String answer) {
}
