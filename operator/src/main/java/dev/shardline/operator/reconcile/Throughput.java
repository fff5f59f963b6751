package dev.shardline.operator.reconcile;

/**
 * Tokens per second per serving pipeline, measured by the operator between two status reads (used when the
 * coordinator does not report it).
 */
record Throughput(long atMs, long tokens, double perPipeline) {
    static final Throughput NONE = new Throughput(-1, 0, 0);

    Throughput next(long nowMs, long tokensNow, int serving) {
        if (atMs < 0 || nowMs - atMs < 1000 || tokensNow < tokens) {
            return atMs < 0 || tokensNow < tokens ? new Throughput(nowMs, tokensNow, perPipeline) : this;
        }
        double rate = (tokensNow - tokens) * 1000.0 / (nowMs - atMs);
        double per = serving > 0 ? rate / serving : perPipeline;
        return new Throughput(nowMs, tokensNow, per > 0 ? per : perPipeline);
    }
}
