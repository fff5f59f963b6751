package dev.shardline.operator.reconcile;

import dev.shardline.operator.autoscale.Decision;
import dev.shardline.operator.autoscale.ScalingPolicy;
import dev.shardline.operator.autoscale.ScalingState;
import dev.shardline.operator.autoscale.Signals;
import dev.shardline.operator.coordinator.ClusterView;
import dev.shardline.operator.coordinator.CoordinatorClient;
import dev.shardline.operator.coordinator.CoordinatorException;
import dev.shardline.operator.coordinator.PipelineSize;
import dev.shardline.operator.desired.Desired;
import dev.shardline.operator.desired.DesiredObjects;
import dev.shardline.operator.desired.Names;
import dev.shardline.operator.desired.Settings;
import dev.shardline.operator.desired.SpecException;
import dev.shardline.operator.desired.WorkerGroup;
import dev.shardline.operator.groups.GroupPlanner;
import dev.shardline.operator.groups.GroupSteps;
import dev.shardline.operator.groups.GroupView;
import dev.shardline.operator.resource.InferenceCluster;
import dev.shardline.operator.resource.InferenceClusterStatus;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Reconciles one InferenceCluster. Each pass reads like a table of contents: settings, the admin secret, what
 * exists (pods, coordinator status), how many pipelines are wanted (autoscaler or spec), the group steps, then
 * the writes (shared objects, new groups, drains, deletions, the coordinator's target) and the status.
 */
@ControllerConfiguration(name = "inferencecluster")
public final class InferenceClusterReconciler implements Reconciler<InferenceCluster> {
    private final KubernetesClient client;
    private final Applier applier;
    private final BiFunction<String, String, CoordinatorClient> connect;   // (address, token) -> client
    private final BiFunction<Names, String, String> address;               // (names, namespace) -> host:port
    private final LongSupplier clock;
    private final Duration period;
    private final Consumer<String> log;
    private final Map<String, Memory> memory = new ConcurrentHashMap<>();

    /** What the operator remembers of a cluster between passes (lost on a leader change: it starts afresh). */
    private static final class Memory {
        ScalingState scaling = ScalingState.initial();
        Throughput throughput = Throughput.NONE;
        CoordinatorClient coordinator;
        String coordinatorKey = "";
        String stagesKey = "";                                    // Settings.stagesKey() of the planner's answer
        Settings.PlannedStages planned;                           // null: not asked, or no answer yet
    }

    public record Options(boolean serverSideApply, Duration period, BiFunction<Names, String, String> address,
                          BiFunction<String, String, CoordinatorClient> connect, LongSupplier clock, Consumer<String> log) {
        /** In a real cluster: SSA, Service DNS names, gRPC, the wall clock. */
        public static Options production(Consumer<String> log) {
            return new Options(true, Duration.ofSeconds(10),
                    (n, ns) -> n.coordinator() + "." + ns + ".svc:" + Names.GRPC_PORT,
                    dev.shardline.operator.coordinator.GrpcCoordinatorClient::new, System::currentTimeMillis, log);
        }
    }

    public InferenceClusterReconciler(KubernetesClient client, Options o) {
        this.client = client;
        this.applier = new Applier(client, o.serverSideApply());
        this.connect = o.connect();
        this.address = o.address();
        this.clock = o.clock();
        this.period = o.period();
        this.log = o.log();
    }

    @Override
    public UpdateControl<InferenceCluster> reconcile(InferenceCluster cr, Context<InferenceCluster> context) {
        Names names = new Names(cr.getMetadata().getName());
        String ns = cr.getMetadata().getNamespace();
        InferenceClusterStatus before = cr.getStatus();
        Settings settings;
        try {
            settings = Settings.of(cr.getSpec());
        } catch (SpecException e) {
            cr.setStatus(Status.invalid(cr, before, e.getMessage(), now()));
            return UpdateControl.patchStatus(cr);                 // a new generation reconciles again
        }
        Memory mem = memory.computeIfAbsent(ns + "/" + names.cluster(), k -> new Memory());
        String token = adminToken(cr, names);
        List<Pod> pods = workerPods(ns, names);
        ClusterView view = null;
        String unreachable = null;
        try {
            view = coordinator(mem, names, ns, token).status();
        } catch (CoordinatorException e) {
            unreachable = e.getMessage();
        }
        if (settings.autoStages()) {
            Stages stages = plannedStages(mem, settings, view, unreachable);
            if (stages.planned() == null) {                       // no count yet: the shared objects, no groups
                applyShared(cr, settings);
                cr.setStatus(Status.stagesUnknown(cr, before, settings, names, stages.refused(), stages.message(), now()));
                return UpdateControl.patchStatus(cr).rescheduleAfter(period);
            }
            settings = settings.withPlannedStages(stages.planned().stages(), stages.planned().reason());
        }
        List<GroupView> groups = Groups.observe(pods, view, settings.stages());
        Wanted wanted = wanted(cr, settings, groups, view, mem);
        GroupSteps steps = GroupPlanner.plan(wanted.pipelines(), settings.templateHash(), groups);

        applyShared(cr, settings);
        createGroups(cr, settings, steps.create());
        drainGroups(ns, groups, steps.drain(), view != null ? mem.coordinator : null);
        deleteGroups(ns, groups, steps.delete());
        if (view != null && view.targetPipelines() != steps.target()) {
            mem.coordinator.setTargetPipelines(steps.target());
        }
        Double tps = view == null ? null : view.reportedTokensPerSecondPerPipeline().isPresent()
                ? view.reportedTokensPerSecondPerPipeline().getAsDouble() : mem.throughput.perPipeline();
        cr.setStatus(Status.of(cr, before, settings, names, view, unreachable, groups, steps, wanted, tps, now()));
        return UpdateControl.patchStatus(cr).rescheduleAfter(period);
    }

    @Override
    public ErrorStatusUpdateControl<InferenceCluster> updateErrorStatus(InferenceCluster cr, Context<InferenceCluster> context,
                                                                         Exception e) {
        log.accept("reconcile of " + cr.getMetadata().getName() + " failed: " + e);
        cr.setStatus(Status.failed(cr, cr.getStatus(), e.toString(), now()));
        return ErrorStatusUpdateControl.patchStatus(cr);
    }

    /** Pipelines wanted now, and the autoscaler's decision when it decided. */
    record Wanted(int pipelines, Decision decision, boolean limited, String reason) {
    }

    private Wanted wanted(InferenceCluster cr, Settings s, List<GroupView> groups, ClusterView view, Memory mem) {
        int current = (int) groups.stream().filter(g -> !g.draining()).count();
        if (!s.autoscale()) {
            int p = Math.min(s.pipelines(), s.maxPipelines());
            return new Wanted(p, null, s.pipelines() > s.maxPipelines(),
                    "spec.pipelines " + s.pipelines() + (s.pipelines() > s.maxPipelines() ? ", limited to maxPipelines " + s.maxPipelines() : ""));
        }
        if (view == null) {                                       // no signals: hold (first pass: start at spec.pipelines)
            int p = groups.isEmpty() && cr.getStatus() == null ? Math.clamp(s.pipelines(), s.minPipelines(), s.maxPipelines()) : current;
            return new Wanted(p, null, false, "no signals from the coordinator yet");
        }
        double tps = tokensPerSecondPerPipeline(view, mem);
        Signals signals = new Signals(view.batchBacklogTokens(), view.waitingRequests(), view.waitingTokens(),
                view.runningSequences(), view.kvUsage(), tps, view.serving(), view.draining());
        Settings.Targets t = s.targets();
        ScalingPolicy policy = new ScalingPolicy(t.backlogTokensPerPipeline(), t.waitingRequestsPerPipeline(), t.kvUsageHigh(),
                t.targetDrainSeconds(), t.scaleUpWindowSeconds(), t.scaleDownWindowSeconds(), t.cooldownSeconds(),
                t.scaleToZeroAfterSeconds(), s.minPipelines(), s.maxPipelines());
        Decision d = policy.decide(current, signals, clock.getAsLong(), mem.scaling);
        mem.scaling = d.state();
        if (d.changed()) log.accept(cr.getMetadata().getName() + ": " + current + " -> " + d.pipelines() + " pipelines: " + d.reason());
        return new Wanted(d.pipelines(), d, d.limited(), d.reason());
    }

    /**
     * The coordinator's measured tokens/s per pipeline (ADR 0010). Only a coordinator that does not report the field
     * (absent, not 0) makes the operator estimate it from the pipelines' token counters between two passes.
     */
    private double tokensPerSecondPerPipeline(ClusterView view, Memory mem) {
        if (view.reportedTokensPerSecondPerPipeline().isPresent()) return view.reportedTokensPerSecondPerPipeline().getAsDouble();
        mem.throughput = mem.throughput.next(clock.getAsLong(), view.tokensProcessed(), view.serving());
        return mem.throughput.perPipeline();
    }

    /** The automatic stage count (null when unknown), or why there is none: refused = the planner said no. */
    record Stages(Settings.PlannedStages planned, boolean refused, String message) {
    }

    /**
     * Asks the coordinator's planner once per input (budget, model, image); the answer is remembered, so a
     * coordinator that restarts or is unreachable later does not stop the workers' reconciliation.
     */
    private Stages plannedStages(Memory mem, Settings s, ClusterView view, String unreachable) {
        if (mem.planned != null && mem.stagesKey.equals(s.stagesKey())) return new Stages(mem.planned, false, "");
        if (view == null) {
            return new Stages(null, false, "waiting for the coordinator to plan the stages: " + unreachable);
        }
        try {
            PipelineSize size = mem.coordinator.planPipeline(s.memoryBudgetBytes(), Settings.MAX_STAGES);
            mem.planned = Settings.PlannedStages.of(size.stages(), s.memoryBudgetBytes(), size.modelId(), size.modelBytes());
            mem.stagesKey = s.stagesKey();
            log.accept(s.stagesKey() + ": " + mem.planned.reason());
            return new Stages(mem.planned, false, "");
        } catch (CoordinatorException e) {
            return new Stages(null, e.refused(), e.refused() ? "the coordinator's planner cannot place the model on workers"
                    + " of workers.memoryBudget " + s.memoryBudget() + ": " + e.getMessage()
                    : "waiting for the coordinator to plan the stages: " + e.getMessage());
        }
    }

    // ---- writes ----

    private void applyShared(InferenceCluster cr, Settings s) {
        DesiredObjects d = Desired.of(Desired.Owner.of(cr), s, List.of());
        for (HasMetadata o : d.shared()) applier.apply(o);
    }

    private void createGroups(InferenceCluster cr, Settings s, List<Integer> indices) {
        if (indices.isEmpty()) return;
        List<WorkerGroup> fresh = indices.stream().map(i -> new WorkerGroup(i, s.templateHash())).toList();
        for (Pod p : Desired.of(Desired.Owner.of(cr), s, fresh).pods()) applier.createIfAbsent(p);
        log.accept(cr.getMetadata().getName() + ": created worker group(s) " + indices);
    }

    /** Marks the group's pods and asks the coordinator to drain each worker by name (again on every pass). */
    private void drainGroups(String ns, List<GroupView> groups, List<Integer> indices, CoordinatorClient coordinator) {
        for (GroupView g : groups) {
            if (!indices.contains(g.index())) continue;
            for (String pod : g.workerIds()) {
                client.pods().inNamespace(ns).withName(pod).edit(p -> {
                    p.getMetadata().getAnnotations().put(Groups.DRAINING, "true");
                    return p;
                });
                if (coordinator != null) coordinator.drainWorker(pod);
            }
        }
    }

    private void deleteGroups(String ns, List<GroupView> groups, List<Integer> indices) {
        for (GroupView g : groups) {
            if (!indices.contains(g.index())) continue;
            for (String pod : g.workerIds()) client.pods().inNamespace(ns).withName(pod).delete();
            log.accept("deleted worker group " + g.index() + " " + g.workerIds());
        }
    }

    // ---- reads ----

    private List<Pod> workerPods(String ns, Names n) {
        return client.pods().inNamespace(ns).withLabels(n.workerSelector()).list().getItems();
    }

    private CoordinatorClient coordinator(Memory mem, Names n, String ns, String token) {
        String key = address.apply(n, ns) + "|" + token;
        if (mem.coordinator == null || !mem.coordinatorKey.equals(key)) {
            if (mem.coordinator != null) mem.coordinator.close();
            mem.coordinator = connect.apply(address.apply(n, ns), token);
            mem.coordinatorKey = key;
        }
        return mem.coordinator;
    }

    /** The admin token: made once (random), kept in a Secret the cluster owns; the coordinator reads it from there. */
    private String adminToken(InferenceCluster cr, Names n) {
        String ns = cr.getMetadata().getNamespace();
        Secret s = client.secrets().inNamespace(ns).withName(n.adminSecret()).get();
        if (s == null) {
            byte[] b = new byte[24];
            new SecureRandom().nextBytes(b);
            String token = HexFormat.of().formatHex(b);
            Secret fresh = new SecretBuilder().withNewMetadata().withName(n.adminSecret()).withNamespace(ns)
                    .withLabels(n.common("identity")).endMetadata()
                    .addToData("token", Base64.getEncoder().encodeToString(token.getBytes(StandardCharsets.UTF_8))).build();
            fresh.getMetadata().setOwnerReferences(List.of(new io.fabric8.kubernetes.api.model.OwnerReferenceBuilder()
                    .withApiVersion(cr.getApiVersion()).withKind(cr.getKind()).withName(cr.getMetadata().getName())
                    .withUid(cr.getMetadata().getUid()).withController(true).withBlockOwnerDeletion(true).build()));
            client.resource(fresh).create();
            return token;
        }
        if (s.getData() != null && s.getData().get("token") != null) {
            return new String(Base64.getDecoder().decode(s.getData().get("token")), StandardCharsets.UTF_8);
        }
        return s.getStringData() != null ? s.getStringData().getOrDefault("token", "") : "";
    }

    private String now() {
        return Instant.ofEpochMilli(clock.getAsLong()).toString();
    }

    /** Closes the coordinator connections (operator stop). */
    public void close() {
        for (Memory m : memory.values()) if (m.coordinator != null) m.coordinator.close();
    }
}
