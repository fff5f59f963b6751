package dev.shardline.model.forward;

import dev.shardline.model.kernels.Activations;
import dev.shardline.model.sampling.SampledToken;

import java.util.List;

/**
 * The last stage's head of a padded decode step whose every sequence's token the device sampler chooses, as
 * {@link StepGraphs#runStep} takes it: {@code logits} issues the final norm and lm_head over all
 * {@code paddedRows} rows into {@code buffer [paddedRows, stride]} (row i: the batch's row i, which for a decode-only
 * step is sequence i; the rows from {@code rows} on are padding), then the device sampler runs over all padded rows
 * in one layout: {@code argmaxLogprob} when any row is greedy, {@code draw} when any row is drawn (with
 * {@link #PLACEHOLDER} for the greedy and padding rows). Row i's token is the first's when {@code draws[i]} is null,
 * the second's otherwise; what the padding rows get is ignored. No gather, no per-row copy, no row order that
 * depends on the step: the work is the same for every step of a shape, so a backend can capture it with the layers.
 *
 * @param logits     the final norm and lm_head of the padded rows (ops only, no reads or writes from the host)
 * @param buffer     the logits [paddedRows, stride], allocated before (never inside a capture)
 * @param rows       the step's own rows (= its sequences)
 * @param paddedRows the rows the head's ops see
 * @param stride     the vocabulary size
 * @param vocabLimit the sampled vocabulary (the first n logits)
 * @param draws      [rows]: sequence i's draw, or null for a greedy token
 * @param sampler    the device sampler the rows' tokens come from
 */
public record GraphHead(Runnable logits, Activations buffer, int rows, int paddedRows, int stride, int vocabLimit,
                        DeviceDraw[] draws, DeviceSampler sampler) {

    /** What the draw kernel gets for a greedy or padding row of a step that draws: the argmax, ignored. */
    public static final DeviceDraw PLACEHOLDER = new DeviceDraw(0f, -1, 1.0, 0.0, 0.0);

    public GraphHead {
        if (rows <= 0 || paddedRows < rows) {
            throw new IllegalArgumentException("graph head of " + rows + " rows padded to " + paddedRows);
        }
        if (draws.length != rows) throw new IllegalArgumentException(draws.length + " draws for " + rows + " rows");
        if (vocabLimit <= 0 || vocabLimit > stride) {
            throw new IllegalArgumentException("vocabLimit " + vocabLimit + " outside 1.." + stride);
        }
    }

    /** Whether any row is greedy (argmaxLogprob runs). */
    public boolean anyGreedy() {
        for (DeviceDraw d : draws) if (d == null) return true;
        return false;
    }

    /** Whether any row is drawn (draw runs). */
    public boolean anyDrawn() {
        for (DeviceDraw d : draws) if (d != null) return true;
        return false;
    }

    /** The draw kernel's parameters for every padded row: the rows' draws, {@link #PLACEHOLDER} elsewhere. */
    public DeviceDraw[] paddedDraws() {
        DeviceDraw[] out = new DeviceDraw[paddedRows];
        for (int r = 0; r < paddedRows; r++) out[r] = r < rows && draws[r] != null ? draws[r] : PLACEHOLDER;
        return out;
    }

    /**
     * Row i's token from the padded kernels' results: {@code greedyIds}/{@code greedyLogprobs} (argmaxLogprob over
     * the padded rows; null when no row is greedy) for a greedy row, {@code drawn[i]} (draw over the padded rows;
     * null when no row is drawn) for a drawn one. Null where the device declined the row.
     */
    public SampledToken[] pick(int[] greedyIds, float[] greedyLogprobs, SampledToken[] drawn) {
        SampledToken[] out = new SampledToken[rows];
        for (int r = 0; r < rows; r++) {
            out[r] = draws[r] == null ? new SampledToken(greedyIds[r], greedyLogprobs[r]) : drawn[r];
        }
        return out;
    }

    /**
     * The head run eagerly, as {@link StepGraphs#runStep} does without graphs: the logits, then the sampler over
     * the padded rows. Null entries: rows the device declined (their logits are row i of {@code buffer}).
     */
    public SampledToken[] runEagerly() {
        logits.run();
        int[] ids = null;
        float[] logprobs = null;
        SampledToken[] drawn = null;
        if (anyGreedy()) {
            ids = new int[paddedRows];
            logprobs = new float[paddedRows];
            sampler.argmaxLogprob(buffer, paddedRows, stride, vocabLimit, ids, logprobs);
        }
        if (anyDrawn()) drawn = sampler.draw(buffer, 0, paddedRows, stride, vocabLimit, paddedDraws());
        return pick(ids, logprobs, drawn);
    }

    /**
     * Why a last-stage step keeps the eager head (null: its head can run padded, through {@link StepGraphs#runStep}):
     * every sequence must be one decode row that asks for logits and whose token the device chooses without top
     * log-probs (their alternatives come from a second kernel with a per-step width: left eager).
     */
    public static String refusal(List<SequenceStep> steps, GreedyOnDevice device) {
        if (device.sampler() == null) return "no device sampler";
        for (int i = 0; i < steps.size(); i++) {
            SequenceStep s = steps.get(i);
            if (s.rows() != 1) return "sequence " + i + " has " + s.rows() + " rows";
            if (!s.wantLogits()) return "sequence " + i + " asks for no logits";
            if (!device.has(i)) return "sequence " + i + " is sampled on the host";
            if (device.top(i) > 0) return "sequence " + i + " asks for top log-probs";
            if (device.draw(i) != null && !device.sampler().draws()) return "the device sampler draws no tokens";
        }
        return steps.isEmpty() ? "empty step" : null;
    }
}
