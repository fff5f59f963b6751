package dev.shardline.model.forward;

import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.sampling.SeededDraw;

/**
 * What a device needs to draw one sequence's token with the host {@code Sampler}'s rule (no bias or penalties:
 * those sequences are sampled on the host): {@code 1 / temperature} as the Sampler rounds it, top-k (<= 0: off),
 * top-p, min-p and the uniform draw u of the token's position.
 */
public record DeviceDraw(float invTemperature, int topK, double topP, double minP, double u) {

    /** The draw of a sequence sampled with {@code p} and {@code seed} for the token at {@code position}. */
    public static DeviceDraw of(SamplingParams p, long seed, long position) {
        if (p.isGreedy()) {
            throw new IllegalArgumentException("temperature " + p.temperature() + " is greedy: nothing to draw");
        }
        return new DeviceDraw((float) (1.0 / p.temperature()), p.topKEnabled() ? p.topK() : -1, p.topP(), p.minP(),
                SeededDraw.uniform(seed, position));
    }
}
