package dev.shardline.model.forward;

import dev.shardline.model.kernels.Activations;

/**
 * Chooses greedy tokens where the logits were computed (a GPU backend), so a step reads back each such row's token
 * id and log-probability instead of the whole row. Backends without one (the CPU backends) read the logits.
 */
public interface DeviceSampler {

    /**
     * For each row r in [0, rows) of {@code logits [rows, stride]}: the largest of its first {@code n} values
     * (lowest id on ties) into {@code ids[r]}, and that value's log-softmax over the same n values into
     * {@code logprobs[r]}, as the host {@code Sampler} reports a greedy token.
     */
    void argmaxLogprob(Activations logits, int rows, int stride, int n, int[] ids, float[] logprobs);
}
