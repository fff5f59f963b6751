package dev.shardline.cli;

import dev.shardline.proto.v1.BatchBacklog;
import dev.shardline.proto.v1.GetClusterStatusResponse;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** What {@code ./shardline status} prints of the autoscaling signals (ADR 0010). */
class StatusCommandTest {

    @Test
    void printsTheLastMinutesThroughputKvUsageAndBatchBacklog() {
        String out = StatusCommand.describe(GetClusterStatusResponse.newBuilder().setTokensPerSecond(412.5)
                .setTokensPerSecondPerPipeline(206.25).setKvUsage(0.125)
                .setBatchBacklog(BatchBacklog.newBuilder().setRecords(7).setTokens(364)).build());
        assertTrue(out.contains("last minute: 412.5 tokens/s, 206.3 per working pipeline; KV usage 12.5% of the serving "
                + "pipelines; batch backlog 7 record(s), 364 tokens (estimated)"), out);
    }
}
