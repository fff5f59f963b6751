package dev.shardline.worker.stage;

import dev.shardline.model.forward.ForwardResult;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.forward.SequenceStep;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.sampling.SampledToken;
import dev.shardline.model.sampling.Sampler;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.sampling.TokenHistory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs micro-batches through this stage's layers: the pure core of a worker, with no networking. The first stage
 * embeds token ids, the others take the previous stage's hidden states; the last samples each sequence that asked
 * for logits, so only token ids leave it. One thread drives it (micro-batches run in arrival order).
 *
 * <p>An executor holds one assignment's sequence state (the last stage's samplers); the forward pass and the KV
 * cache belong to the caller, who may hand them to the next executor of the same layers (a worker re-assigned the
 * layers it holds reuses them) and closes them.
 */
public final class StageExecutor {
    private final Qwen2Forward forward;
    private final KvCache cache;
    private final int vocabLimit;
    private final Map<Long, SequenceSampling> sampling = new HashMap<>();

    /** {@code vocabLimit}: sample only ids below it (the tokenizer's size; embedding padding rows are never emitted). */
    public StageExecutor(Qwen2Forward forward, KvCache cache, int vocabLimit) {
        this.forward = forward;
        this.cache = cache;
        this.vocabLimit = Math.min(vocabLimit, forward.config().vocabSize());
    }

    public boolean isFirst() {
        return forward.weights().range().embedding();
    }

    public boolean isLast() {
        return forward.weights().range().head();
    }

    public KvCache cache() {
        return cache;
    }

    /** Runs one micro-batch; {@code hiddenIn [rows, hidden]} is null on the first stage. */
    public StageOutput execute(List<StageEntry> entries, float[] hiddenIn, Collection<Long> finished) {
        forget(finished);
        if (entries.isEmpty()) {
            return new StageOutput(new float[0], 0, List.of());   // a micro-batch that only carries ids to forget
        }
        List<SequenceStep> steps = new ArrayList<>(entries.size());
        int rows = 0;
        for (StageEntry e : entries) {
            steps.add(e.toStep(isFirst()));
            rows += e.tokens().length;
        }
        if (!isFirst() && (hiddenIn == null || hiddenIn.length < rows * forward.config().hiddenSize())) {
            throw new IllegalArgumentException("stage expects hidden states [" + rows + ", " + forward.config().hiddenSize()
                    + "], got " + (hiddenIn == null ? "none" : hiddenIn.length + " floats"));
        }
        ForwardResult result = forward.forward(steps, hiddenIn, cache);
        if (!isLast()) {
            return new StageOutput(result.hidden(), rows, List.of());
        }
        return new StageOutput(null, rows, sample(entries, result));
    }

    /**
     * Records every entry's tokens in its sequence's history (a setup on the entry starts the sequence afresh), then
     * samples the token after each entry that asked for logits: its position is where that entry ends.
     */
    private List<SampledResult> sample(List<StageEntry> entries, ForwardResult result) {
        Map<Long, SequenceSampling> starting = new HashMap<>();
        for (StageEntry e : entries) {      // checks first: an entry that does not fit changes no sequence's state
            SequenceSampling s = e.sampling() != null
                    ? starting.computeIfAbsent(e.sequenceId(), id -> new SequenceSampling(id, e.sampling(), e.generatedCount()))
                    : sampling.get(e.sequenceId());
            if (s == null) {
                throw new IllegalStateException("sequence " + e.sequenceId() + " reached the last stage without sampling parameters");
            }
            s.checkContinues(e.firstPosition());
        }
        sampling.putAll(starting);
        for (StageEntry e : entries) {
            sampling.get(e.sequenceId()).see(e.firstPosition(), e.tokens());
        }
        List<SampledResult> out = new ArrayList<>();
        int[] which = result.logitSequences();
        for (int j = 0; j < which.length; j++) {
            StageEntry e = entries.get(which[j]);
            SampledToken t = sampling.get(e.sequenceId()).sample(result.logits(), j * result.vocabSize(), vocabLimit);
            out.add(new SampledResult(e.sequenceId(), t.id(), t.logprob(), t.topLogprobs()));
        }
        return out;
    }

    /**
     * Runs a short prefill and two decode steps through the layers so the JIT compiles the whole path before the
     * first request. It writes KV block 0, which is harmless: every sequence writes a position before reading it.
     */
    public void warmUp() {
        int hidden = forward.config().hiddenSize();
        int[] blocks = {0};
        int rows = Math.min(8, cache.blockSize());
        for (int step = 0; step < 3; step++) {
            int n = step == 0 ? rows : 1;
            int first = step == 0 ? 0 : rows + step - 1;
            if (first + n > cache.blockSize()) break;
            int[] tokens = new int[n];
            SequenceStep s = new SequenceStep(isFirst() ? tokens : null, n, first, blocks, isLast());
            ForwardResult r = forward.forward(List.of(s), isFirst() ? null : new float[n * hidden], cache);
            if (isLast() && step == 2) {
                warmUpSampling(r);
            }
        }
    }

    /**
     * Samples a few hundred times from one logits row, greedy and with QwQ's recommended settings, so the sampler's
     * whole-vocabulary loops are compiled before the first request (interpreted, each sample costs ~2 ms instead of
     * ~0.2 ms on a 152k vocabulary).
     */
    private void warmUpSampling(ForwardResult r) {
        int vocab = Math.min(vocabLimit, r.vocabSize());
        for (SamplingParams p : List.of(SamplingParams.greedy(), SamplingParams.qwqRecommended())) {
            Sampler sampler = new Sampler(p);
            TokenHistory history = TokenHistory.ofPrompt(new int[] {0});
            for (int i = 0; i < 300; i++) {
                sampler.sample(r.logits(), 0, vocab, history);
            }
        }
    }

    /** Drops the sampling state of ended or preempted sequences (their KV blocks belong to the coordinator). */
    public void forget(Collection<Long> sequenceIds) {
        for (Long id : sequenceIds) {
            sampling.remove(id);
        }
    }

    /** Sequences with sampling state here (0 on stages other than the last). */
    public int trackedSequences() {
        return sampling.size();
    }
}
