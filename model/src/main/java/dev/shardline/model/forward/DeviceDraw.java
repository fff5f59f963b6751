package dev.shardline.model.forward;

import dev.shardline.model.sampling.DrawEdits;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.sampling.SeededDraw;

/**
 * What a device needs to draw one sequence's token with the host {@code Sampler}'s rule: {@code 1 / temperature} as
 * the Sampler rounds it (0: greedy, the argmax of the edited logits), top-k (<= 0: off), top-p, min-p, the uniform
 * draw u of the token's position, and the logit bias and penalties as per-token edits of the logits
 * ({@link DrawEdits#NONE} when there are none).
 */
public record DeviceDraw(float invTemperature, int topK, double topP, double minP, double u, DrawEdits edits) {

    public DeviceDraw {
        if (edits == null) throw new IllegalArgumentException("edits must not be null (DrawEdits.NONE: none)");
    }

    /** Without bias or penalties. */
    public DeviceDraw(float invTemperature, int topK, double topP, double minP, double u) {
        this(invTemperature, topK, topP, minP, u, DrawEdits.NONE);
    }

    /** The draw of a sequence sampled with {@code p} and {@code seed} for the token at {@code position}. */
    public static DeviceDraw of(SamplingParams p, long seed, long position) {
        return of(p, seed, position, DrawEdits.NONE);
    }

    /**
     * As {@link #of(SamplingParams, long, long)} with the bias and penalties of the history at the draw; for greedy
     * params (which need edits: a plain greedy token is the device argmax's) the argmax of the edited logits.
     */
    public static DeviceDraw of(SamplingParams p, long seed, long position, DrawEdits edits) {
        if (p.isGreedy()) {
            if (edits.isEmpty()) {
                throw new IllegalArgumentException("greedy without bias or penalties: nothing to edit or draw");
            }
            return new DeviceDraw(0f, -1, 1.0, 0.0, 0.0, edits);
        }
        return new DeviceDraw((float) (1.0 / p.temperature()), p.topKEnabled() ? p.topK() : -1, p.topP(), p.minP(),
                SeededDraw.uniform(seed, position), edits);
    }
}
