package dev.shardline.worker.cuda;

import dev.shardline.model.sampling.SamplingParams;

import java.util.Map;

/**
 * Whether one sequence's next token can be chosen on the device with exactly the host {@code Sampler}'s semantics
 * (pure: no device). The device implements greedy argmax ({@link CudaKernels#argmaxLogprob}), with up to
 * {@link CudaKernels#MAX_DEVICE_TOP_LOGPROBS} top log-probs ({@link CudaKernels#argmaxTop}), and temperature draws
 * on the host's exact integer weights ({@link CudaKernels#draw}): top-k in 1..{@link CudaKernels#MAX_DEVICE_TOP_K}
 * with top-p over what it kept, or top-k off with top-p 1, either with min-p, drawing at the host's
 * {@code SeededDraw.uniform(seed, position)}, with the sampled token's log-prob, after a logit bias and
 * repetition, frequency and presence penalties ({@code DrawEdits} of the sequence's history, applied on the
 * device), and with up to {@link CudaKernels#MAX_DEVICE_TOP_LOGPROBS} top log-probs (from
 * {@link CudaKernels#argmaxTop} beside the draw). Greedy with a bias or penalty is {@link Where#DEVICE_SAMPLE} too:
 * the draw kernel returns the argmax of the edited logits. Everything else (top-p without top-k, top-k above the
 * device's limit, more top log-probs) sends the sequence to the host sampler, with the reason.
 *
 * @param where  the sampler that serves the sequence
 * @param reason why the host (null on the device)
 */
public record DeviceSamplingRoute(Where where, String reason) {

    /** The sampler a sequence's token comes from. */
    public enum Where { DEVICE_ARGMAX, DEVICE_SAMPLE, HOST }

    private static final DeviceSamplingRoute ARGMAX = new DeviceSamplingRoute(Where.DEVICE_ARGMAX, null);
    private static final DeviceSamplingRoute SAMPLE = new DeviceSamplingRoute(Where.DEVICE_SAMPLE, null);

    private static DeviceSamplingRoute host(String reason) {
        return new DeviceSamplingRoute(Where.HOST, reason);
    }

    public boolean onDevice() {
        return where != Where.HOST;
    }

    /**
     * The route for a sequence sampled with {@code p} over the first {@code vocabLimit} logits (the stage's
     * sampled vocabulary).
     */
    public static DeviceSamplingRoute of(SamplingParams p, int vocabLimit) {
        if (p.topLogprobs() > CudaKernels.MAX_DEVICE_TOP_LOGPROBS) {
            return host("top_logprobs " + p.topLogprobs() + " > " + CudaKernels.MAX_DEVICE_TOP_LOGPROBS);
        }
        if (p.isGreedy()) {               // with a bias or penalty: the draw kernel's argmax of the edited logits
            return edits(p, vocabLimit) ? SAMPLE : ARGMAX;
        }
        boolean kOn = p.topKEnabled() && p.topK() < vocabLimit;
        if (kOn && p.topK() > CudaKernels.MAX_DEVICE_TOP_K) {
            return host("top_k " + p.topK() + " > " + CudaKernels.MAX_DEVICE_TOP_K);
        }
        if (!kOn && p.topP() < 1.0) return host("top_p without top_k");
        return SAMPLE;
    }

    /** Whether the Sampler changes logits before choosing: a nonzero bias on a sampled id, or a penalty. */
    static boolean edits(SamplingParams p, int vocabLimit) {
        for (Map.Entry<Integer, Float> bias : p.logitBias().entrySet()) {
            if (bias.getKey() < vocabLimit && bias.getValue() != 0f) return true;   // ids beyond are ignored
        }
        return p.repetitionPenalty() != 1.0 || p.frequencyPenalty() != 0 || p.presencePenalty() != 0;
    }
}
