package dev.shardline.worker.stage;

import dev.shardline.model.sampling.SampledToken;
import dev.shardline.model.sampling.Sampler;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.sampling.TokenHistory;

import java.util.Arrays;

/**
 * The last stage's sampling state of one sequence: its sampler (seeded once) and token history. Prompt tokens
 * accumulate over prefill chunks; the history is built at the first sample, and every sampled token is recorded
 * by the sampler itself, so decode entries (which carry that token back) add nothing. Forced token ids (a test hook)
 * replace the draw for the generated positions they cover, counted from the sequence's start, so a resumed sequence
 * continues where it was.
 */
final class SequenceSampling {
    private final Sampler sampler;
    private int[] pending = new int[64];
    private int pendingCount;
    private int generatedBefore;
    private final int[] forced;
    private int sampled;
    private TokenHistory history;

    SequenceSampling(SamplingParams params, int generatedCount, int[] forced) {
        this.sampler = new Sampler(params);
        this.generatedBefore = generatedCount;
        this.forced = forced == null ? new int[0] : forced.clone();
    }

    void see(int[] tokens) {
        if (history != null) {
            return;  // a decode entry: its token was sampled here and is in the history already
        }
        if (pendingCount + tokens.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingCount + tokens.length));
        }
        System.arraycopy(tokens, 0, pending, pendingCount, tokens.length);
        pendingCount += tokens.length;
    }

    SampledToken sample(float[] logits, int offset, int vocab) {
        if (history == null) {
            int promptLength = pendingCount - generatedBefore;
            history = TokenHistory.ofPrompt(Arrays.copyOf(pending, promptLength));
            for (int i = promptLength; i < pendingCount; i++) {
                history.addGenerated(pending[i]);
            }
            pending = null;
        }
        int position = generatedBefore + sampled++;
        if (position < forced.length && forced[position] < vocab) {
            return sampler.force(logits, offset, vocab, history, forced[position]);
        }
        return sampler.sample(logits, offset, vocab, history);
    }
}
