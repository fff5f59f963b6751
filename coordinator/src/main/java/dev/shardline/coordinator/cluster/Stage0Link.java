package dev.shardline.coordinator.cluster;

/**
 * The coordinator's stream into a pipeline's first stage, under the stage's credit: {@link #tryCredit()} takes one
 * without waiting (credit comes back through {@link LinkListener#onCredit()}), {@link #send} sends one micro-batch.
 */
public interface Stage0Link extends AutoCloseable {
    boolean tryCredit();

    /** Gives back a credit taken by {@link #tryCredit} that was not used. */
    void returnCredit();

    void send(OutboundStep step);

    @Override
    void close();
}
