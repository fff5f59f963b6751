package dev.shardline.coordinator.schedule;

import dev.shardline.model.sampling.SamplingParams;

import java.util.Collection;
import java.util.Set;

/**
 * One generation request as the scheduler sees it: prompt token ids, the tokens it already generated (a sequence
 * that resumes on this pipeline after its own was lost or drained; empty for a new request), and when to stop.
 * Sampling itself happens on the last stage; the caller keeps the sampling parameters by sequence id and sends them
 * with the entries flagged {@link BatchEntry#includeSamplingParams()}.
 *
 * @param generated     tokens generated before (on another pipeline); the sequence prefills prompt + generated
 * @param maxTokens     tokens to generate at most, counting {@code generated}; {@link Integer#MAX_VALUE} = until the
 *                      context (or KV) is full
 * @param priorityClass interactive requests rank above batch ones
 * @param priority      within the class, higher runs first
 * @param arrival       rank among equals: lower first; -1 = the order of submission to this scheduler. A resumed
 *                      sequence keeps its original arrival, so it does not lose its place to newer requests.
 * @param stopTokenIds  ids that end the sequence even with {@code ignoreEos}
 * @param eosTokenIds   the model's EOS ids; they end the sequence unless {@code ignoreEos}
 */
public record Request(int[] promptTokens, int[] generated, int maxTokens, PriorityClass priorityClass, int priority,
                      long arrival, Set<Integer> stopTokenIds, Set<Integer> eosTokenIds, boolean ignoreEos) {

    public Request {
        promptTokens = promptTokens == null ? null : promptTokens.clone();
        generated = generated == null ? new int[0] : generated.clone();
        priorityClass = priorityClass == null ? PriorityClass.INTERACTIVE : priorityClass;
        stopTokenIds = stopTokenIds == null ? Set.of() : Set.copyOf(stopTokenIds);
        eosTokenIds = eosTokenIds == null ? Set.of() : Set.copyOf(eosTokenIds);
    }

    /** A new interactive request. */
    public Request(int[] promptTokens, int maxTokens, int priority, Set<Integer> stopTokenIds, Set<Integer> eosTokenIds,
                   boolean ignoreEos) {
        this(promptTokens, new int[0], maxTokens, PriorityClass.INTERACTIVE, priority, -1, stopTokenIds, eosTokenIds,
                ignoreEos);
    }

    @Override
    public int[] promptTokens() {
        return promptTokens == null ? null : promptTokens.clone();
    }

    @Override
    public int[] generated() {
        return generated.clone();
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
        return new Request(promptTokens, generated, maxTokens, priorityClass, p, arrival, stopTokenIds, eosTokenIds,
                ignoreEos);
    }

    public Request withPriorityClass(PriorityClass c) {
        return new Request(promptTokens, generated, maxTokens, c, priority, arrival, stopTokenIds, eosTokenIds, ignoreEos);
    }

    /** The same request resuming with {@code tokens} already generated, ranked by its original arrival. */
    public Request resumed(int[] tokens, long originalArrival) {
        return new Request(promptTokens, tokens, maxTokens, priorityClass, priority, originalArrival, stopTokenIds,
                eosTokenIds, ignoreEos);
    }

    /** Tokens the KV cache must hold at most: prompt + max tokens (long: max tokens may be "unlimited"). */
    public long maxLength() {
        return (long) promptTokens.length + maxTokens;
    }

    /** Whether generating tokenId ends the sequence. */
    public boolean stopsOn(int tokenId) {
        return stopTokenIds.contains(tokenId) || (!ignoreEos && eosTokenIds.contains(tokenId));
    }
}
