package dev.shardline.worker.stage;

import dev.shardline.model.forward.DeviceDraw;
import dev.shardline.model.forward.DeviceSampler;
import dev.shardline.model.forward.DeviceTokens;
import dev.shardline.model.forward.ForwardResult;
import dev.shardline.model.forward.GreedyOnDevice;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.forward.SequenceStep;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.sampling.DrawEdits;
import dev.shardline.model.sampling.SampledToken;
import dev.shardline.model.sampling.Sampler;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.sampling.TokenHistory;
import dev.shardline.worker.cuda.DeviceSamplingRoute;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs micro-batches through this stage's layers: the pure core of a worker, with no networking. The first stage
 * embeds token ids, the others take the previous stage's hidden states; the last samples each sequence that asked
 * for logits, so only token ids leave it. One thread drives it (micro-batches run in arrival order). With a
 * {@link DeviceSampler} (backend cuda), the sequences {@link DeviceSamplingRoute} sends to the device get their token
 * from it in the same step (greedy with its log-probability and any top log-probs asked for, or a temperature draw
 * with the host Sampler's exact rule and the token's log-probability), and only the other rows' logits come back.
 *
 * <p>An executor holds one assignment's sequence state (the last stage's samplers); the forward pass and the KV
 * cache belong to the caller, who may hand them to the next executor of the same layers (a worker re-assigned the
 * layers it holds reuses them) and closes them.
 */
public final class StageExecutor {
    private final Qwen2Forward forward;
    private final KvCache cache;
    private final int vocabLimit;
    private final DeviceSampler deviceSampler;   // null: every token is sampled on the host
    private final Map<Long, SequenceSampling> sampling = new HashMap<>();

    /** {@code vocabLimit}: sample only ids below it (the tokenizer's size; embedding padding rows are never emitted). */
    public StageExecutor(Qwen2Forward forward, KvCache cache, int vocabLimit) {
        this(forward, cache, vocabLimit, null);
    }

    /** @param deviceSampler picks tokens where the logits are (null: all sampling on the host) */
    public StageExecutor(Qwen2Forward forward, KvCache cache, int vocabLimit, DeviceSampler deviceSampler) {
        this.forward = forward;
        this.cache = cache;
        this.vocabLimit = Math.min(vocabLimit, forward.config().vocabSize());
        this.deviceSampler = deviceSampler;
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
        ForwardResult result = forward.forward(steps, hiddenIn, cache, greedyOnDevice(entries));
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
        SampledResult[] byEntry = new SampledResult[entries.size()];
        int[] which = result.logitSequences();
        for (int j = 0; j < which.length; j++) {
            StageEntry e = entries.get(which[j]);
            SampledToken t = sampling.get(e.sequenceId()).sample(result.logits(), j * result.vocabSize(), vocabLimit);
            byEntry[which[j]] = new SampledResult(e.sequenceId(), t.id(), t.logprob(), t.topLogprobs());
        }
        DeviceTokens chosen = result.deviceTokens();
        for (int j = 0; j < chosen.size(); j++) {
            StageEntry e = entries.get(chosen.sequences()[j]);
            sampling.get(e.sequenceId()).chosenElsewhere();  // the history starts at the first token, wherever chosen
            byEntry[chosen.sequences()[j]] = new SampledResult(e.sequenceId(), chosen.ids()[j], chosen.logprobs()[j],
                    chosen.top().get(j));
        }
        List<SampledResult> out = new ArrayList<>();
        for (SampledResult r : byEntry) {
            if (r != null) out.add(r);                    // batch order, as the entries asked for logits
        }
        return out;
    }

    /**
     * The entries whose token the device picks: on the last stage with a device sampler, those asking for logits
     * whose parameters route to the device ({@link DeviceSamplingRoute}), with top log-probs only when the sampler
     * reports that many: greedy, or a draw (temperature, or greedy with a bias or penalty: the argmax of the edited
     * logits) when the sampler {@link DeviceSampler#draws} and the
     * sequence's seed is known (its sampler's, or the setup's), keyed at the position after the entry, with its
     * bias and penalties as {@link DrawEdits} of the history the sample will see (built ahead from the held tokens
     * before a sequence's first sample); and whose
     * sequence has no forced token left (a forced token is scored on the host). Reads the sampling state without
     * changing it.
     */
    GreedyOnDevice greedyOnDevice(List<StageEntry> entries) {
        if (deviceSampler == null || !isLast()) {
            return GreedyOnDevice.NONE;
        }
        boolean[] device = new boolean[entries.size()];
        int[] top = new int[entries.size()];
        DeviceDraw[] draws = new DeviceDraw[entries.size()];
        for (int i = 0; i < entries.size(); i++) {
            StageEntry e = entries.get(i);
            if (!e.wantLogits()) continue;
            SequenceSampling known = e.sampling() != null ? null : sampling.get(e.sequenceId());
            SamplingParams p = e.sampling() != null ? e.sampling().params() : known == null ? null : known.params();
            boolean forcing = e.sampling() != null ? e.sampling().forcedTokenIds().length > 0
                    : known == null || known.mayForceAfter(e.tokens().length);
            if (p == null || forcing) continue;
            DeviceSamplingRoute.Where where = DeviceSamplingRoute.of(p, vocabLimit).where();
            if (where == DeviceSamplingRoute.Where.DEVICE_ARGMAX) {
                device[i] = p.topLogprobs() <= deviceSampler.maxTopLogprobs();
                top[i] = device[i] ? p.topLogprobs() : 0;
            } else if (where == DeviceSamplingRoute.Where.DEVICE_SAMPLE && deviceSampler.draws()
                    && p.topLogprobs() <= deviceSampler.maxTopLogprobs()) {
                // the seed keys the draw's u (a greedy draw uses none)
                Long seed = known != null ? Long.valueOf(known.seed()) : p.isGreedy() ? Long.valueOf(0) : p.seed();
                DrawEdits edits = !DrawEdits.anyFor(p, vocabLimit) ? DrawEdits.NONE
                        : known != null ? known.editsAfter(e.tokens(), vocabLimit)
                        : e.sampling() != null ? SequenceSampling.editsOfFirst(e.sequenceId(), e.sampling(), e.tokens(),
                                e.generatedCount(), vocabLimit)
                        : null;
                if (seed != null && edits != null) {
                    device[i] = true;
                    top[i] = p.topLogprobs();
                    if (p.isGreedy() && edits.isEmpty()) continue;   // nothing left to edit: the device argmax
                    draws[i] = DeviceDraw.of(p, seed, (long) e.firstPosition() + e.tokens().length, edits);
                }
            }
        }
        return new GreedyOnDevice(deviceSampler, device, vocabLimit, top, draws);
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
