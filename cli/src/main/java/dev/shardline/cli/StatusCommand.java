package dev.shardline.cli;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.proto.v1.ClusterCounters;
import dev.shardline.proto.v1.GetClusterStatusResponse;
import dev.shardline.proto.v1.LatencySummary;
import dev.shardline.proto.v1.PipelineStatus;
import dev.shardline.proto.v1.ServingFigures;
import dev.shardline.proto.v1.StagePlan;
import dev.shardline.proto.v1.WorkerInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code ./shardline status --server H:P}: pipelines with their states, workers, pool, demand and counters. */
@Command(name = "status", mixinStandardHelpOptions = true, description = "Show a running cluster's pipelines and workers.")
final class StatusCommand implements Callable<Integer> {
    @Option(names = "--server", defaultValue = "127.0.0.1:50051", paramLabel = "HOST:PORT")
    String server;

    @Override
    public Integer call() {
        try (ClusterClient client = new ClusterClient(server)) {
            System.out.print(describe(client.status()));
        }
        return 0;
    }

    private static String latency(String name, LatencySummary l) {
        return String.format(java.util.Locale.ROOT, "%s: %d observed, mean %.1f ms, p50 %.1f ms, p90 %.1f ms, p99 %.1f ms%n",
                name, l.getCount(), l.getMeanSeconds() * 1e3, l.getP50Seconds() * 1e3, l.getP90Seconds() * 1e3,
                l.getP99Seconds() * 1e3);
    }

    static String describe(GetClusterStatusResponse s) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("epoch %d.%d, %s, target %s pipeline(s); %d request(s) waiting for a pipeline (%d tokens)%n",
                s.getEpoch() >>> 32, s.getEpoch() & 0xffffffffL, s.getReady() ? "ready" : "NOT ready",
                s.getTargetPipelines() == 0 ? "auto" : Integer.toString(s.getTargetPipelines()),
                s.getWaitingRequests(), s.getWaitingTokens()));
        for (PipelineStatus p : s.getPipelinesList()) {
            sb.append(String.format("pipeline %d: %s, %d running, %d queued, KV %d/%d blocks, %d tokens generated%s%n",
                    p.getPipelineId(), p.getState().name().substring("PIPELINE_STATE_".length()).toLowerCase(),
                    p.getRunning(), p.getWaiting(), p.getKvBlocksUsed(), p.getKvBlocksTotal(), p.getTokensGenerated(),
                    p.getReason().isEmpty() ? "" : " (" + p.getReason() + ")"));
            for (StagePlan st : p.getStagesList()) {
                sb.append(String.format("  stage %d: %s layers %d-%d%s%s%n", st.getStageIndex(), st.getWorkerId(),
                        st.getLayerStart(), st.getLayerEnd() - 1, st.getHasEmbedding() ? " +embed" : "",
                        st.getHasHead() ? " +head" : ""));
            }
        }
        for (WorkerInfo w : s.getWorkersList()) {
            sb.append(String.format("worker %s at %s: %s, %s, heard %d ms ago, %d weight load(s)%n", w.getWorkerId(),
                    w.getAddress(), w.getState().name().substring("WORKER_STATE_".length()).toLowerCase(),
                    w.getPipelineId() < 0 ? "in the pool" : "pipeline " + w.getPipelineId(), w.getLastHeartbeatAgeMs(),
                    w.getWeightLoads()));
        }
        ClusterCounters c = s.getCounters();
        sb.append(String.format("pipelines formed %d, failed %d, drained %d; migrations %d after failures, %d after "
                        + "drains (%d tokens re-prefilled); %d request(s) timed out waiting, %d cancelled as too slow%n",
                c.getPipelinesFormed(), c.getPipelinesFailed(), c.getPipelinesDrained(), c.getMigrationsAfterFailure(),
                c.getMigrationsAfterDrain(), c.getMigrationReprefillTokens(), c.getRequestsTimedOutWaiting(),
                c.getRequestsCancelledSlowConsumer()));
        sb.append(String.format(java.util.Locale.ROOT, "last minute: %.1f tokens/s, %.1f per working pipeline; KV usage "
                        + "%.1f%% of the serving pipelines; batch backlog %d record(s), %d tokens%s%n", s.getTokensPerSecond(),
                s.getTokensPerSecondPerPipeline(), s.getKvUsage() * 100, s.getBatchBacklog().getRecords(),
                s.getBatchBacklog().getTokens(), s.getBatchBacklog().getExact() ? "" : " (estimated)"));
        ServingFigures f = s.getServing();
        sb.append(String.format("requests finished %s; %d prompt and %d generated tokens, %d preemption(s)%n",
                f.getRequestsFinishedMap(), f.getPromptTokens(), f.getGenerationTokens(), f.getPreemptions()));
        sb.append(latency("time to first token", f.getTimeToFirstToken()));
        sb.append(latency("inter-token latency", f.getInterTokenLatency()));
        sb.append(latency("end-to-end latency", f.getE2ERequestLatency()));
        sb.append(latency("queue time", f.getRequestQueueTime()));
        return sb.toString();
    }
}
