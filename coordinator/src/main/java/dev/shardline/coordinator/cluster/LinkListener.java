package dev.shardline.coordinator.cluster;

/** What the link into stage 0 reports, on a transport thread, without waiting. */
public interface LinkListener {
    /** Stage 0 returned a credit (or granted its initial credit). */
    void onCredit();

    /** The link broke; the pipeline cannot continue. */
    void onBroken(String reason);
}
