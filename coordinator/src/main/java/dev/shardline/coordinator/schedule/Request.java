package dev.shardline.coordinator.schedule;

import dev.shardline.model.sampling.SamplingParams;

import java.util.Collection;
import java.util.Set;

/**
 * One generation request as the scheduler sees it: prompt token ids and when to stop. Sampling itself happens on
 * the last stage; the caller keeps the {@link SamplingParams} by sequence id and sends them with the entries
 * flagged {@link BatchEntry#includeSamplingParams()}.
 *
 * @param maxTokens    tokens to generate at most; {@link Integer#MAX_VALUE} = until the context (or KV) is full
 * @param priority     higher runs first; first come first served within a priority
 * @param stopTokenIds ids that end the sequence even with {@code ignoreEos}
 * @param eosTokenIds  the model's EOS ids; they end the sequence unless {@code ignoreEos}
 */
public record Request(int[] promptTokens, int maxTokens, int priority, Set<Integer> stopTokenIds,
                      Set<Integer> eosTokenIds, boolean ignoreEos) {

    public Request {
        promptTokens = promptTokens == null ? null : promptTokens.clone();
        stopTokenIds = stopTokenIds == null ? Set.of() : Set.copyOf(stopTokenIds);
        eosTokenIds = eosTokenIds == null ? Set.of() : Set.copyOf(eosTokenIds);
    }

    @Override
    public int[] promptTokens() {
        return promptTokens == null ? null : promptTokens.clone();
    }

    /** From sampling params: their max tokens, stop token ids and ignore_eos, with the model's EOS ids. */
    public static Request of(int[] prompt, SamplingParams p, Collection<Integer> eosTokenIds, int priority) {
        return new Request(prompt, p.maxTokens(), priority, p.stopTokenIds(), Set.copyOf(eosTokenIds), p.ignoreEos());
    }

    /** No stop ids: runs for exactly {@code maxTokens} tokens unless cancelled or stopped by a {@link StopPolicy}. */
    public static Request ofLength(int[] prompt, int maxTokens) {
        return new Request(prompt, maxTokens, 0, Set.of(), Set.of(), false);
    }

    public Request withPriority(int p) {
        return new Request(promptTokens, maxTokens, p, stopTokenIds, eosTokenIds, ignoreEos);
    }

    /** Whether generating tokenId ends the sequence. */
    public boolean stopsOn(int tokenId) {
        return stopTokenIds.contains(tokenId) || (!ignoreEos && eosTokenIds.contains(tokenId));
    }
}
