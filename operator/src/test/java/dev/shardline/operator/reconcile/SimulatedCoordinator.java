package dev.shardline.operator.reconcile;

import dev.shardline.operator.desired.Names;
import dev.shardline.proto.v1.AdminGrpc;
import dev.shardline.proto.v1.DrainRequest;
import dev.shardline.proto.v1.DrainResponse;
import dev.shardline.proto.v1.GetClusterStatusRequest;
import dev.shardline.proto.v1.GetClusterStatusResponse;
import dev.shardline.proto.v1.InferenceGrpc;
import dev.shardline.proto.v1.PipelineState;
import dev.shardline.proto.v1.PipelineStatus;
import dev.shardline.proto.v1.PlanPipelineRequest;
import dev.shardline.proto.v1.PlanPipelineResponse;
import dev.shardline.proto.v1.PlannedStage;
import dev.shardline.proto.v1.SetTargetPipelinesRequest;
import dev.shardline.proto.v1.SetTargetPipelinesResponse;
import dev.shardline.proto.v1.StagePlan;
import dev.shardline.proto.v1.WorkerInfo;
import dev.shardline.proto.v1.WorkerState;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * For the operator's tests against the mock API server: a gRPC server over loopback speaking the coordinator's
 * real contracts (Inference.GetClusterStatus, Admin with the bearer token), playing the coordinator and the kubelet
 * at once: every complete group of running pods is a serving pipeline; a drained worker's pod exits 0 (Succeeded)
 * on the next status read. The end-to-end test runs the real coordinator instead.
 */
final class SimulatedCoordinator implements AutoCloseable {
    final KubernetesClient kube;
    final String namespace;
    final Names names;
    final int stages;
    final Server server;
    final List<String> drained = new CopyOnWriteArrayList<>();
    final List<Integer> targets = new CopyOnWriteArrayList<>();
    final Set<String> exiting = ConcurrentHashMap.newKeySet();
    final Set<String> drainedUids = ConcurrentHashMap.newKeySet();
    volatile int waitingRequests;
    volatile long batchBacklogTokens;
    volatile int target;
    /** The throughput and KV figures it reports (ADR 0010); null: the field is absent, as from an older coordinator. */
    volatile Double tokensPerSecondPerPipeline;
    volatile Double kvUsage;
    /** PlanPipeline: UNAVAILABLE until true (a coordinator still loading its model); the model's bytes it plans for. */
    volatile boolean plans;
    volatile long modelBytes = 5L << 30;
    final List<Long> planBudgets = new CopyOnWriteArrayList<>();

    SimulatedCoordinator(KubernetesClient kube, String namespace, String cluster, int stages) throws IOException {
        this.kube = kube;
        this.namespace = namespace;
        this.names = new Names(cluster);
        this.stages = stages;
        Metadata.Key<String> authKey = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
        ServerInterceptor auth = new ServerInterceptor() {
            @Override
            public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call, Metadata headers,
                                                                       io.grpc.ServerCallHandler<Q, R> next) {
                if (call.getMethodDescriptor().getServiceName().equals("shardline.v1.Admin")
                        && !("Bearer " + token()).equals(headers.get(authKey))) {
                    call.close(Status.PERMISSION_DENIED.withDescription("wrong admin token"), new Metadata());
                    return new io.grpc.ServerCall.Listener<>() { };
                }
                return Contexts.interceptCall(Context.current(), call, headers, next);
            }
        };
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(io.grpc.ServerInterceptors.intercept(new Inference(), auth))
                .addService(io.grpc.ServerInterceptors.intercept(new Admin(), auth)).build().start();
    }

    /** The token the operator put in the cluster's admin Secret (what the real coordinator reads from it). */
    String token() {
        var secret = kube.secrets().inNamespace(namespace).withName(names.adminSecret()).get();
        return secret == null ? null : new String(java.util.Base64.getDecoder().decode(secret.getData().get("token")));
    }

    String address() {
        return "127.0.0.1:" + server.getPort();
    }

    private List<Pod> pods() {
        return kube.pods().inNamespace(namespace).withLabels(names.workerSelector()).list().getItems();
    }

    GetClusterStatusResponse status() {
        // the kubelet part: drained workers have exited 0
        for (Pod p : pods()) {
            if (exiting.remove(p.getMetadata().getName())) {
                kube.pods().inNamespace(namespace).resource(p).editStatus(x -> {
                    x.setStatus(new PodStatusBuilder().withPhase("Succeeded").build());
                    return x;
                });
            }
        }
        Map<Integer, List<Pod>> groups = new TreeMap<>();
        for (Pod p : pods()) {
            groups.computeIfAbsent(Integer.parseInt(p.getMetadata().getLabels().get(Names.LABEL_GROUP)), k -> new java.util.ArrayList<>()).add(p);
        }
        GetClusterStatusResponse.Builder r = GetClusterStatusResponse.newBuilder();
        for (Map.Entry<Integer, List<Pod>> g : groups.entrySet()) {
            List<Pod> members = g.getValue();
            boolean alive = members.size() == stages && members.stream().noneMatch(p -> p.getStatus() != null
                    && ("Succeeded".equals(p.getStatus().getPhase()) || "Pending".equals(p.getStatus().getPhase())));
            if (!alive) continue;
            boolean draining = members.stream().anyMatch(p -> drainedUids.contains(p.getMetadata().getUid()));
            PipelineStatus.Builder pl = PipelineStatus.newBuilder().setPipelineId(g.getKey())
                    .setState(draining ? PipelineState.PIPELINE_STATE_DRAINING : PipelineState.PIPELINE_STATE_SERVING)
                    .setKvBlocksTotal(100).setKvBlocksUsed(10).setTokensGenerated(1000);
            members.sort(java.util.Comparator.comparing(p -> p.getMetadata().getName()));
            for (int i = 0; i < members.size(); i++) {
                String id = members.get(i).getMetadata().getName();
                pl.addStages(StagePlan.newBuilder().setStageIndex(i).setWorkerId(id).setLayerStart(i * 4).setLayerEnd(i * 4 + 4));
                r.addWorkers(WorkerInfo.newBuilder().setWorkerId(id).setPipelineId(g.getKey())
                        .setState(draining ? WorkerState.WORKER_STATE_DRAINING : WorkerState.WORKER_STATE_READY));
                if (draining) exiting.add(id);            // drained by the next read
            }
            r.addPipelines(pl);
        }
        if (tokensPerSecondPerPipeline != null) r.setTokensPerSecondPerPipeline(tokensPerSecondPerPipeline);
        if (kvUsage != null) r.setKvUsage(kvUsage);
        return r.setWaitingRequests(waitingRequests).setWaitingTokens(waitingRequests * 100L).setTargetPipelines(target)
                .setBatchBacklog(dev.shardline.proto.v1.BatchBacklog.newBuilder().setTokens(batchBacklogTokens)).build();
    }

    final class Inference extends InferenceGrpc.InferenceImplBase {
        @Override
        public void getClusterStatus(GetClusterStatusRequest request, StreamObserver<GetClusterStatusResponse> out) {
            out.onNext(status());
            out.onCompleted();
        }
    }

    final class Admin extends AdminGrpc.AdminImplBase {
        @Override
        public void setTargetPipelines(SetTargetPipelinesRequest request, StreamObserver<SetTargetPipelinesResponse> out) {
            target = request.getPipelines();
            targets.add(target);
            out.onNext(SetTargetPipelinesResponse.getDefaultInstance());
            out.onCompleted();
        }

        /** The planner's arithmetic for equal layers: ceil(model / budget) workers; one layer each at most. */
        @Override
        public void planPipeline(PlanPipelineRequest request, StreamObserver<PlanPipelineResponse> out) {
            long budget = request.getWorkerMemoryBudgetBytes();
            planBudgets.add(budget);
            if (!plans) {
                out.onError(Status.UNAVAILABLE.withDescription("the model is still loading").asRuntimeException());
                return;
            }
            long n = (modelBytes + budget - 1) / budget;
            int layers = 24;
            if (n > Math.min(layers, request.getMaxStages())) {
                out.onError(Status.FAILED_PRECONDITION.withDescription("no pipeline of up to " + request.getMaxStages()
                        + " workers with a memory budget of " + budget + " bytes each can hold tiny-sim").asRuntimeException());
                return;
            }
            PlanPipelineResponse.Builder r = PlanPipelineResponse.newBuilder().setModelId("tiny-sim").setStages((int) n)
                    .setModelBytes(modelBytes);
            for (int i = 0; i < n; i++) {
                r.addStagePlans(PlannedStage.newBuilder().setStageIndex(i).setLayerStart((int) (i * layers / n))
                        .setLayerEnd((int) ((i + 1) * layers / n)));
            }
            out.onNext(r.build());
            out.onCompleted();
        }

        @Override
        public void drain(DrainRequest request, StreamObserver<DrainResponse> out) {
            if (!drained.contains(request.getWorkerId())) drained.add(request.getWorkerId());
            Pod p = kube.pods().inNamespace(namespace).withName(request.getWorkerId()).get();
            if (p != null) drainedUids.add(p.getMetadata().getUid());
            out.onNext(DrainResponse.getDefaultInstance());
            out.onCompleted();
        }
    }

    @Override
    public void close() {
        server.shutdownNow();
    }
}
