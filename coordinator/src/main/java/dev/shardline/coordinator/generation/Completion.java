package dev.shardline.coordinator.generation;

import dev.shardline.model.engine.FinishReason;

import java.util.List;

/**
 * How a request ended, with everything every front end reports: why (an EOS or stop token or string, the token
 * limit), the stop string that matched, usage, timings, how often it moved to another pipeline, and the whole
 * output (for front ends that answer at the end).
 */
public record Completion(FinishReason finishReason, String matchedStop, Usage usage, Timings timings, int migrations,
                         List<Integer> tokenIds, String reasoning, String answer) {

    public Completion {
        tokenIds = List.copyOf(tokenIds);
    }

    public String text() {
        return reasoning + answer;
    }
}
