package dev.shardline.coordinator.grpc.api;

import dev.shardline.coordinator.cluster.ClusterStatus;
import dev.shardline.coordinator.cluster.RegisteredWorker;
import dev.shardline.coordinator.cluster.ReportedState;
import dev.shardline.coordinator.cluster.TokenRate;
import dev.shardline.coordinator.metrics.ServingFigures;
import dev.shardline.coordinator.plan.StagePlan;
import dev.shardline.proto.v1.ClusterCounters;
import dev.shardline.proto.v1.GetClusterStatusResponse;
import dev.shardline.proto.v1.LatencySummary;
import dev.shardline.proto.v1.PipelinePlan;
import dev.shardline.proto.v1.PipelineState;
import dev.shardline.proto.v1.PipelineStatus;
import dev.shardline.proto.v1.ShardPlan;
import dev.shardline.proto.v1.StageLoad;
import dev.shardline.proto.v1.WorkerInfo;
import dev.shardline.proto.v1.WorkerState;

import java.util.List;

/** The cluster's status as {@code shardline.v1} messages. */
final class StatusProtos {

    static GetClusterStatusResponse status(ClusterStatus s, ServingFigures serving, TokenRate.Rates rates) {
        return status(s).toBuilder().setServing(serving(serving)).setTokensPerSecond(rates.tokensPerSecond())
                .setTokensPerSecondPerPipeline(rates.tokensPerSecondPerPipeline()).build();
    }

    static dev.shardline.proto.v1.ServingFigures serving(ServingFigures f) {
        return dev.shardline.proto.v1.ServingFigures.newBuilder().setPromptTokens(f.promptTokens())
                .setGenerationTokens(f.generationTokens()).setPreemptions(f.preemptions())
                .putAllRequestsFinished(f.finished()).setTimeToFirstToken(latency(f.timeToFirstToken()))
                .setInterTokenLatency(latency(f.interToken())).setE2ERequestLatency(latency(f.endToEnd()))
                .setRequestQueueTime(latency(f.queueTime())).build();
    }

    private static LatencySummary latency(ServingFigures.Latency l) {
        return LatencySummary.newBuilder().setCount(l.count()).setMeanSeconds(l.meanSeconds())
                .setP50Seconds(l.p50Seconds()).setP90Seconds(l.p90Seconds()).setP99Seconds(l.p99Seconds()).build();
    }

    static GetClusterStatusResponse status(ClusterStatus s) {
        GetClusterStatusResponse.Builder b = GetClusterStatusResponse.newBuilder().setEpoch(s.epoch())
                .setTargetPipelines(s.targetPipelines()).addAllPoolWorkerIds(s.pool())
                .setWaitingRequests(s.waitingRequests()).setWaitingTokens(s.waitingTokens()).setReady(s.ready())
                .setQueueDepth(s.queueDepth()).setRunningSequences(s.runningSequences()).setKvUsage(s.kvUsage());
        for (RegisteredWorker.Snapshot w : s.workers()) {
            b.addWorkers(worker(w));
        }
        ShardPlan.Builder plan = ShardPlan.newBuilder();
        for (ClusterStatus.Pipeline p : s.pipelines()) {
            List<dev.shardline.proto.v1.StagePlan> stages = stages(p);
            PipelineStatus.Builder ps = PipelineStatus.newBuilder().setPipelineId(p.id()).setEpoch(p.epoch())
                    .setState(state(p.state())).addAllStages(stages).setKvBlocksTotal(p.kvBlocks()).setReason(p.reason());
            if (p.load() != null) {
                ps.setRunning(p.load().running()).setWaiting(p.load().waiting()).setKvBlocksUsed(p.load().blocksUsed())
                        .setTokensGenerated(p.load().tokensGenerated()).setPrefillRows(p.load().prefillRows());
            }
            b.addPipelines(ps);
            if (p.state() == dev.shardline.coordinator.desired.PipelineState.SERVING
                    || p.state() == dev.shardline.coordinator.desired.PipelineState.DRAINING) {
                plan.addPipelines(PipelinePlan.newBuilder().setPipelineId(p.id()).setKvBlocks(p.kvBlocks())
                        .setBlockSize(p.blockSize()).addAllStages(stages));
                for (int i = 0; i < p.stages().size(); i++) {
                    StageLoad.Builder l = StageLoad.newBuilder().setPipelineId(p.id()).setStageIndex(i)
                            .setWorkerId(p.stages().get(i).workerId()).setKvBlocksTotal(p.kvBlocks());
                    if (p.runner() != null) {
                        l.setBusyFraction(p.runner().stats().busyFraction(i)).setStepsCompleted(p.runner().stats().stepsCompleted());
                    }
                    if (p.load() != null) {
                        l.setMicroBatchesInFlight(p.load().inFlight()).setKvBlocksUsed(p.load().blocksUsed());
                    }
                    b.addStageLoads(l);
                }
            }
        }
        ClusterStatus.Counters c = s.counters();
        return b.setPlan(plan).setCounters(ClusterCounters.newBuilder()
                .setMigrationsAfterFailure(c.migrationsAfterFailure()).setMigrationsAfterDrain(c.migrationsAfterDrain())
                .setPipelinesFormed(c.pipelinesFormed()).setPipelinesFailed(c.pipelinesFailed())
                .setPipelinesDrained(c.pipelinesDrained()).setRequestsTimedOutWaiting(c.requestsTimedOutWaiting())
                .setRequestsCancelledSlowConsumer(c.requestsCancelledSlowConsumer())
                .setMigrationReprefillTokens(c.migrationReprefillTokens())).build();
    }

    private static List<dev.shardline.proto.v1.StagePlan> stages(ClusterStatus.Pipeline p) {
        return java.util.stream.IntStream.range(0, p.stages().size()).mapToObj(i -> {
            StagePlan s = p.stages().get(i);
            return dev.shardline.proto.v1.StagePlan.newBuilder().setStageIndex(i).setWorkerId(s.workerId())
                    .setLayerStart(s.range().start()).setLayerEnd(s.range().end())
                    .setHasEmbedding(s.range().embedding()).setHasHead(s.range().head())
                    .setWeightBytes(s.weightBytes()).setKvCapacityTokens((long) p.kvBlocks() * p.blockSize()).build();
        }).toList();
    }

    private static WorkerInfo worker(RegisteredWorker.Snapshot w) {
        WorkerState state;
        if (w.lost()) {
            state = WorkerState.WORKER_STATE_LOST;
        } else if (w.leaving() != null) {
            state = WorkerState.WORKER_STATE_DRAINING;
        } else if (w.lastBeat() != null && w.lastBeat().state() == ReportedState.FAILED) {
            state = WorkerState.WORKER_STATE_FAILED;
        } else if (w.pipelineId() < 0) {
            state = WorkerState.WORKER_STATE_POOL;
        } else if (w.lastBeat() != null && w.lastBeat().state() == ReportedState.LOADING) {
            state = WorkerState.WORKER_STATE_LOADING;
        } else {
            state = WorkerState.WORKER_STATE_READY;
        }
        WorkerInfo.Builder b = WorkerInfo.newBuilder().setWorkerId(w.id()).setAddress(w.record().address())
                .setBackend(w.record().backend()).setMemoryBudgetBytes(w.record().memoryBudgetBytes()).setState(state)
                .setLastHeartbeatAgeMs(w.lastHeardAgeMillis()).setPipelineId(w.pipelineId())
                .setWeightLoads(w.weightLoads()).setThreads(w.record().threads());
        if (w.lastBeat() != null) {
            b.setKvBlocksUsed(w.lastBeat().kvBlocksUsed()).setLiveSequences(w.lastBeat().liveSequences());
        }
        return b.build();
    }

    private static PipelineState state(dev.shardline.coordinator.desired.PipelineState s) {
        return switch (s) {
            case FORMING -> PipelineState.PIPELINE_STATE_FORMING;
            case SERVING -> PipelineState.PIPELINE_STATE_SERVING;
            case DRAINING -> PipelineState.PIPELINE_STATE_DRAINING;
            case FAILED -> PipelineState.PIPELINE_STATE_FAILED;
        };
    }

    private StatusProtos() {
    }
}
