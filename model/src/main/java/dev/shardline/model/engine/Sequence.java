package dev.shardline.model.engine;

import java.util.Arrays;
import java.util.Set;

/** The engine's state of one request: its tokens so far, its KV blocks, and how far it has been computed. */
final class Sequence {
    final int id;
    final int[] prompt;
    final int maxNewTokens;
    final Set<Integer> stopTokenIds;
    final NextToken chooser;
    final TokenListener listener;
    final long startNanos = System.nanoTime();

    int[] tokens;          // prompt followed by generated tokens
    int length;            // tokens held
    int computed;          // positions already in the KV cache
    int[] blockTable = new int[4];
    int blocks;
    FinishReason finished;
    long firstTokenNanos;
    long endNanos;

    Sequence(int id, int[] prompt, int maxNewTokens, Set<Integer> stopTokenIds, NextToken chooser, TokenListener listener) {
        this.id = id;
        this.prompt = prompt.clone();
        this.maxNewTokens = maxNewTokens;
        this.stopTokenIds = stopTokenIds;
        this.chooser = chooser;
        this.listener = listener;
        this.tokens = Arrays.copyOf(prompt, prompt.length + Math.min(maxNewTokens, 1 << 16));
        this.length = prompt.length;
    }

    boolean inPrefill() {
        return computed < length - 1 || length == prompt.length;
    }

    int generated() {
        return length - prompt.length;
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[length++] = token;
    }

    GenerationResult result() {
        int[] out = Arrays.copyOfRange(tokens, prompt.length, length);
        long prefill = firstTokenNanos - startNanos;
        long decode = endNanos - firstTokenNanos;
        return new GenerationResult(prompt.clone(), out, finished, prefill, decode);
    }
}
