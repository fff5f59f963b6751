package dev.shardline.coordinator.schedule;

import java.util.Arrays;

/** The scheduler's mutable state of one live sequence. */
final class ScheduledSequence {
    final long id;
    final Request request;
    final int promptLength;
    final int maxTokens;            // effective: capped by the context and KV capacity

    int[] tokens;                   // prompt followed by generated tokens
    int length;
    int computed;                   // positions sent for computation; the KV of [0, computed) is (being) written
    int[] blocks = new int[8];
    int blockCount;
    SequenceStatus status = SequenceStatus.WAITING;
    boolean inFlight;
    boolean needsSamplingParams = true;
    boolean knownToStages;          // sent since the stages last forgot it
    boolean cancelRequested;
    int preemptions;

    ScheduledSequence(long id, Request request, int maxTokens) {
        this.id = id;
        this.request = request;
        int[] prompt = request.promptTokens();
        int[] before = request.generated();
        this.promptLength = prompt.length;
        this.maxTokens = maxTokens;
        this.tokens = Arrays.copyOf(prompt, prompt.length + before.length + Math.min(maxTokens - before.length, 256));
        System.arraycopy(before, 0, tokens, prompt.length, before.length);
        this.length = prompt.length + before.length;
    }

    int priority() {
        return request.priority();
    }

    /** The waiting-queue key: class, then priority. */
    Scheduler.Rank rank() {
        return new Scheduler.Rank(request.priorityClass(), request.priority());
    }

    /** Order among sequences of one rank: the request's arrival when given, else the submission order here. */
    long arrival() {
        return request.arrival() >= 0 ? request.arrival() : id;
    }

    /** Resumed (it generated tokens elsewhere) or preempted: it goes back to the head of its queue. */
    boolean returning() {
        return preemptions > 0 || request.generated().length > 0;
    }

    int generated() {
        return length - promptLength;
    }

    /** Positions still to feed before the next token can be sampled (1 = a decode step). */
    int remaining() {
        return length - computed;
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[length++] = token;
    }

    void addBlock(int block) {
        if (blockCount == blocks.length) {
            blocks = Arrays.copyOf(blocks, blocks.length * 2);
        }
        blocks[blockCount++] = block;
    }

    SequenceState snapshot() {
        return new SequenceState(id, status, priority(), promptLength, Arrays.copyOfRange(tokens, promptLength, length),
                computed, Arrays.copyOf(blocks, blockCount), inFlight, cancelRequested, preemptions);
    }
}
