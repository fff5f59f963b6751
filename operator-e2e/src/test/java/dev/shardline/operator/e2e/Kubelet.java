package dev.shardline.operator.e2e;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Plays what a Kubernetes cluster does around the operator, on one machine: the Deployment controller (one pod per
 * Deployment template), kube-proxy (a TCP proxy on a cluster IP per Service port, to a ready pod), and the kubelet:
 * each pod gets its own loopback address (127.0.0.N), its volumes as directories, and its containers run as real
 * {@code shardline} processes, with the args and env the image's entry point would receive (downward API, Secrets,
 * ConfigMaps, Service names mapped to their cluster IPs). Init containers run first; restartPolicy is honoured; a
 * deleted pod's process gets SIGTERM, then SIGKILL after its grace period. Any pod-spec field it does not understand
 * fails the test ({@link PodSpecCheck}).
 */
final class Kubelet implements AutoCloseable {
    private final KubernetesClient kube;
    private final String ns;
    private final String image;
    private final Path cli;
    private final Path work;
    private final Map<String, String> imageEnv;
    private final Consumer<String> log;
    private final AtomicInteger nextPodIp = new AtomicInteger(2);
    private final AtomicInteger nextServiceIp = new AtomicInteger(2);
    private final Map<String, Run> runs = new ConcurrentHashMap<>();
    private final Map<String, String> clusterIps = new ConcurrentHashMap<>();
    private final List<ServiceProxy> proxies = new CopyOnWriteArrayList<>();
    final List<String> failures = new CopyOnWriteArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    private volatile boolean running = true;
    private final Thread loop;

    /** One pod being run (a pod is its UID: one created again under a deleted pod's name is a new pod). */
    final class Run {
        final String name;
        final String uid;
        final String ip;
        final Pod pod;
        volatile Process process;
        volatile boolean deleted;
        volatile boolean ready;
        private ManagedChannel probes;

        Run(Pod pod, String ip) {
            this.pod = pod;
            this.name = pod.getMetadata().getName();
            this.uid = uid(pod);
            this.ip = ip;
        }

        synchronized ManagedChannel probeChannel(int port) {
            if (probes == null) {
                probes = NettyChannelBuilder.forAddress(ip, port).usePlaintext().build();
                probeChannels.add(probes);
            }
            return probes;
        }
    }

    /** The pod's channel for gRPC probes (one per pod, closed when the harness closes). */
    private final List<ManagedChannel> probeChannels = new CopyOnWriteArrayList<>();

    static String uid(Pod p) {
        return p.getMetadata().getUid() != null ? p.getMetadata().getUid() : p.getMetadata().getName();
    }

    Kubelet(KubernetesClient kube, String ns, String image, Path cli, Path work, Map<String, String> imageEnv, Consumer<String> log) {
        this.kube = kube;
        this.ns = ns;
        this.image = image;
        this.cli = cli;
        this.work = work;
        this.imageEnv = imageEnv;
        this.log = log;
        this.loop = Thread.ofPlatform().name("kubelet").daemon(true).start(this::loop);
    }

    /** The cluster IP of a Service (allocated when the harness first saw it), or null. */
    String clusterIp(String service) {
        return clusterIps.get(service);
    }

    Path logOf(String pod) {
        return work.resolve("logs").resolve(pod + ".log");
    }

    private void loop() {
        while (running) {
            try {
                deployments();
                services();
                pods();
                readiness();
            } catch (RuntimeException e) {
                if (running) log.accept("kubelet pass failed: " + e);
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    // ---- the Deployment controller: one pod per Deployment, named after its template ----

    private void deployments() {
        for (Deployment d : kube.apps().deployments().inNamespace(ns).list().getItems()) {
            String template = HexFormat.of().formatHex(sha(Serialization.asJson(d.getSpec().getTemplate())), 0, 5);
            String name = d.getMetadata().getName() + "-" + template;
            for (Pod p : kube.pods().inNamespace(ns).withLabels(d.getSpec().getSelector().getMatchLabels()).list().getItems()) {
                if (!p.getMetadata().getName().equals(name)) kube.resource(p).delete();
            }
            if (kube.pods().inNamespace(ns).withName(name).get() == null) {
                kube.resource(new PodBuilder().withNewMetadataLike(d.getSpec().getTemplate().getMetadata()).withName(name)
                        .withNamespace(ns).withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("apps/v1")
                                .withKind("Deployment").withName(d.getMetadata().getName()).withUid(d.getMetadata().getUid())
                                .withController(true).build()).endMetadata()
                        .withSpec(d.getSpec().getTemplate().getSpec()).build()).create();
            }
        }
    }

    // ---- kube-proxy ----

    private void services() throws RuntimeException {
        for (Service s : kube.services().inNamespace(ns).list().getItems()) {
            String name = s.getMetadata().getName();
            if ("None".equals(s.getSpec().getClusterIP()) || clusterIps.containsKey(name)) continue;
            String ip = "127.0.1." + nextServiceIp.getAndIncrement();
            for (ServicePort port : s.getSpec().getPorts()) {
                try {
                    proxies.add(new ServiceProxy(ip, port.getPort(), () -> endpoint(s, port.getTargetPort())));
                } catch (IOException e) {
                    failures.add("service " + name + " port " + port.getPort() + " on " + ip + ": " + e);
                }
            }
            clusterIps.put(name, ip);
            log.accept("service " + name + " -> " + ip);
        }
    }

    private InetSocketAddress endpoint(Service s, IntOrString target) {
        for (Run r : runs.values()) {
            Map<String, String> labels = r.pod.getMetadata().getLabels();
            if (r.deleted || !r.ready || labels == null || !labels.entrySet().containsAll(s.getSpec().getSelector().entrySet())) continue;
            for (Container c : r.pod.getSpec().getContainers()) {
                for (ContainerPort p : c.getPorts()) {
                    if (target.getStrVal() != null ? target.getStrVal().equals(p.getName()) : target.getIntVal().equals(p.getContainerPort())) {
                        return new InetSocketAddress(r.ip, p.getContainerPort());
                    }
                }
            }
        }
        return null;
    }

    // ---- the kubelet ----

    private void pods() {
        Map<String, Pod> present = new HashMap<>();
        for (Pod p : kube.pods().inNamespace(ns).list().getItems()) present.put(uid(p), p);
        for (Pod p : present.values()) {
            String name = p.getMetadata().getName();
            if (runs.containsKey(uid(p)) || (p.getStatus() != null && p.getStatus().getPhase() != null)) continue;
            try {
                PodSpecCheck.check(name, p.getSpec(), image);
            } catch (AssertionError e) {
                failures.add(e.getMessage());
                runs.put(uid(p), new Run(p, "0.0.0.0"));
                continue;
            }
            Run run = new Run(p, "127.0.0." + nextPodIp.getAndIncrement());
            runs.put(run.uid, run);
            status(run, "Running", false);
            Thread.ofVirtual().name("pod-" + name).start(() -> runPod(run));
        }
        for (Run r : runs.values()) {
            if (!r.deleted && !present.containsKey(r.uid)) {
                r.deleted = true;
                Thread.ofVirtual().start(() -> terminate(r));
            }
        }
    }

    private void runPod(Run run) {
        try {
            Map<String, Path> mounts = volumes(run);
            for (Container init : run.pod.getSpec().getInitContainers()) {
                int code = start(run, init, mounts).waitFor();
                if (code != 0) {
                    failures.add(run.name + ": init container " + init.getName() + " exited " + code + " (see " + logOf(run.name) + ")");
                    status(run, "Failed", false);
                    return;
                }
            }
            String policy = run.pod.getSpec().getRestartPolicy() == null ? "Always" : run.pod.getSpec().getRestartPolicy();
            Container main = run.pod.getSpec().getContainers().getFirst();
            while (!run.deleted) {
                run.process = start(run, main, mounts);
                int code = run.process.waitFor();
                if (run.deleted) return;
                log.accept("pod " + run.name + " exited " + code);
                if (code == 0 && !policy.equals("Always")) {
                    status(run, "Succeeded", false);
                    return;
                }
                if (code != 0 && policy.equals("Never")) {
                    status(run, "Failed", false);
                    return;
                }
                Thread.sleep(1000);                           // back-off, then restart
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            if (!run.deleted) failures.add(run.name + ": " + e);
        }
    }

    private Map<String, Path> volumes(Run run) throws IOException {
        Map<String, Path> dirs = new HashMap<>();
        for (Volume v : run.pod.getSpec().getVolumes()) {
            Path dir;
            if (v.getEmptyDir() != null) dir = work.resolve("pods").resolve(run.name + "-" + run.uid).resolve(v.getName());
            else if (v.getPersistentVolumeClaim() != null) dir = work.resolve("pvc").resolve(v.getPersistentVolumeClaim().getClaimName());
            else dir = Path.of(v.getHostPath().getPath());
            Files.createDirectories(dir);
            dirs.put(v.getName(), dir);
        }
        return dirs;
    }

    private Process start(Run run, Container c, Map<String, Path> volumeDirs) throws IOException {
        Map<String, Path> mounts = new LinkedHashMap<>();
        for (VolumeMount m : c.getVolumeMounts()) mounts.put(m.getMountPath(), volumeDirs.get(m.getName()));
        Map<String, String> env = new LinkedHashMap<>(imageEnv);
        env.put("HOSTNAME", run.name);
        for (EnvFromSource from : c.getEnvFrom()) {
            var cm = kube.configMaps().inNamespace(ns).withName(from.getConfigMapRef().getName()).get();
            if (cm == null) throw new IllegalStateException(run.name + ": ConfigMap " + from.getConfigMapRef().getName() + " missing");
            if (cm.getData() != null) cm.getData().forEach((k, v) -> env.put(k, map(v, run, mounts)));
        }
        for (EnvVar e : c.getEnv()) env.put(e.getName(), map(value(run, e), run, mounts));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx768m", "-XX:+UseSerialGC", "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss4m",
                "-cp", cli.resolve("shardline-cli.jar") + File.pathSeparator + cli.resolve("lib") + File.separator + "*",
                "dev.shardline.cli.Main"));
        for (String a : c.getArgs()) cmd.add(map(a, run, mounts));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().putAll(env);
        Files.createDirectories(logOf(run.name).getParent());
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(logOf(run.name).toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        log.accept("pod " + run.name + " (" + run.ip + "): shardline " + String.join(" ", c.getArgs()));
        return pb.start();
    }

    private String value(Run run, EnvVar e) {
        if (e.getValueFrom() == null) return e.getValue() == null ? "" : e.getValue();
        if (e.getValueFrom().getFieldRef() != null) {
            return switch (e.getValueFrom().getFieldRef().getFieldPath()) {
                case "metadata.name" -> run.name;
                case "metadata.namespace" -> ns;
                case "status.podIP" -> run.ip;
                default -> throw new IllegalStateException("fieldPath " + e.getValueFrom().getFieldRef().getFieldPath());
            };
        }
        var ref = e.getValueFrom().getSecretKeyRef();
        var secret = kube.secrets().inNamespace(ns).withName(ref.getName()).get();
        if (secret == null || secret.getData() == null || !secret.getData().containsKey(ref.getKey())) {
            throw new IllegalStateException(run.name + ": Secret " + ref.getName() + " key " + ref.getKey() + " missing");
        }
        return new String(Base64.getDecoder().decode(secret.getData().get(ref.getKey())), StandardCharsets.UTF_8);
    }

    /** Inside the pod: its own paths are the volume directories, 0.0.0.0 is its address, Services are cluster IPs. */
    private String map(String v, Run run, Map<String, Path> mounts) {
        for (Map.Entry<String, Path> m : mounts.entrySet()) {
            if (v.equals(m.getKey()) || v.startsWith(m.getKey() + "/")) v = m.getValue() + v.substring(m.getKey().length());
        }
        if (v.equals("0.0.0.0")) v = run.ip;
        for (Map.Entry<String, String> s : clusterIps.entrySet()) {
            v = v.replaceAll("^" + java.util.regex.Pattern.quote(s.getKey()) + "(\\." + ns + "(\\.svc(\\.cluster\\.local)?)?)?(?=:)", s.getValue());
        }
        return v;
    }

    private void readiness() {
        for (Run r : runs.values()) {
            if (r.deleted || r.process == null || !r.process.isAlive()) {
                r.ready = false;
                continue;
            }
            Probe p = r.pod.getSpec().getContainers().getFirst().getReadinessProbe();
            boolean ok = p == null || probe(r, p);
            if (ok != r.ready) {
                r.ready = ok;
                status(r, "Running", ok);
            }
        }
    }

    private boolean probe(Run r, Probe p) {
        Container c = r.pod.getSpec().getContainers().getFirst();
        if (p.getHttpGet() != null) {
            try {
                int port = port(c, p.getHttpGet().getPort());
                return http.send(HttpRequest.newBuilder(URI.create("http://" + r.ip + ":" + port + p.getHttpGet().getPath()))
                        .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (IOException | InterruptedException e) {
                return false;
            }
        }
        if (p.getGrpc() != null) {                       // as the kubelet: grpc.health.v1 Check, SERVING or not ready
            ManagedChannel ch = r.probeChannel(p.getGrpc().getPort());
            try {
                return HealthGrpc.newBlockingStub(ch).withDeadlineAfter(1, TimeUnit.SECONDS)
                        .check(HealthCheckRequest.newBuilder().setService(p.getGrpc().getService() == null ? ""
                                : p.getGrpc().getService()).build()).getStatus() == HealthCheckResponse.ServingStatus.SERVING;
            } catch (StatusRuntimeException e) {
                return false;
            }
        }
        int port = port(c, p.getTcpSocket().getPort());
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(r.ip, port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int port(Container c, IntOrString p) {
        if (p.getIntVal() != null) return p.getIntVal();
        return c.getPorts().stream().filter(x -> p.getStrVal().equals(x.getName())).findFirst().orElseThrow().getContainerPort();
    }

    private void status(Run run, String phase, boolean ready) {
        try {
            kube.pods().inNamespace(ns).withName(run.name).editStatus(p -> {
                if (!run.uid.equals(uid(p))) throw new IllegalStateException("a new pod under the name");
                p.setStatus(new PodStatusBuilder().withPhase(phase).withPodIP(run.ip)
                        .withConditions(new PodConditionBuilder().withType("Ready").withStatus(ready ? "True" : "False").build()).build());
                return p;
            });
        } catch (RuntimeException e) {
            // the pod was deleted meanwhile
        }
    }

    private void terminate(Run r) {
        Process p = r.process;
        if (p == null || !p.isAlive()) return;
        long grace = r.pod.getSpec().getTerminationGracePeriodSeconds() == null ? 30 : r.pod.getSpec().getTerminationGracePeriodSeconds();
        log.accept("pod " + r.name + " deleted: SIGTERM, " + grace + " s of grace");
        p.destroy();
        try {
            if (!p.waitFor(grace, TimeUnit.SECONDS)) p.destroyForcibly();
        } catch (InterruptedException e) {
            p.destroyForcibly();
        }
    }

    private static byte[] sha(String s) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        running = false;
        loop.interrupt();
        for (Run r : runs.values()) {
            r.deleted = true;                             // no restart of what exits now
            Process p = r.process;
            if (p != null) p.destroy();                   // SIGTERM: workers drain, the coordinator stops
        }
        for (Run r : runs.values()) {
            Process p = r.process;
            try {
                if (p != null && !p.waitFor(5, TimeUnit.SECONDS)) p.destroyForcibly();
            } catch (InterruptedException e) {
                p.destroyForcibly();
            }
        }
        for (ManagedChannel ch : probeChannels) ch.shutdownNow();
        for (ServiceProxy p : proxies) {
            try {
                p.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }
}
