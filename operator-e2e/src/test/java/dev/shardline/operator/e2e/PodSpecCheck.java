package dev.shardline.operator.e2e;

import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.client.utils.Serialization;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The harness understands a fixed set of pod-spec fields; any other field fails the test (rather than being
 * silently ignored, which would let the operator write something the harness never honoured).
 */
final class PodSpecCheck {
    static final Set<String> SPEC = Set.of("containers", "initContainers", "volumes", "serviceAccountName",
            "automountServiceAccountToken", "hostname", "subdomain", "restartPolicy", "terminationGracePeriodSeconds",
            "nodeSelector", "tolerations", "affinity", "securityContext");
    static final Set<String> CONTAINER = Set.of("name", "image", "imagePullPolicy", "args", "env", "envFrom", "ports",
            "livenessProbe", "readinessProbe", "startupProbe", "resources", "volumeMounts", "securityContext");
    static final Set<String> ENV = Set.of("name", "value", "valueFrom");
    static final Set<String> VALUE_FROM = Set.of("fieldRef", "secretKeyRef");
    static final Set<String> FIELD_PATHS = Set.of("metadata.name", "metadata.namespace", "status.podIP");
    static final Set<String> PROBE = Set.of("grpc", "tcpSocket", "httpGet", "periodSeconds", "failureThreshold");
    static final Set<String> VOLUME = Set.of("name", "emptyDir", "persistentVolumeClaim", "hostPath");
    static final Set<String> MOUNT = Set.of("name", "mountPath", "readOnly");
    static final Set<String> PORT = Set.of("name", "containerPort");
    static final Set<String> RESTART = Set.of("OnFailure", "Always", "Never");

    @SuppressWarnings("unchecked")
    static void check(String pod, PodSpec spec, String image) {
        Map<String, Object> s = Serialization.jsonMapper().convertValue(spec, Map.class);
        only(pod + ".spec", s, SPEC);
        if (s.containsKey("restartPolicy") && !RESTART.contains(s.get("restartPolicy"))) {
            throw new AssertionError(pod + ".spec.restartPolicy: " + s.get("restartPolicy"));
        }
        for (String list : List.of("containers", "initContainers")) {
            for (Map<String, Object> c : (List<Map<String, Object>>) s.getOrDefault(list, List.of())) {
                String at = pod + ".spec." + list + "[" + c.get("name") + "]";
                only(at, c, CONTAINER);
                if (!image.equals(c.get("image"))) throw new AssertionError(at + ".image: " + c.get("image") + " is not " + image);
                for (Map<String, Object> e : (List<Map<String, Object>>) c.getOrDefault("env", List.of())) {
                    only(at + ".env[" + e.get("name") + "]", e, ENV);
                    Map<String, Object> from = (Map<String, Object>) e.get("valueFrom");
                    if (from != null) {
                        only(at + ".env[" + e.get("name") + "].valueFrom", from, VALUE_FROM);
                        Map<String, Object> f = (Map<String, Object>) from.get("fieldRef");
                        if (f != null && !FIELD_PATHS.contains(f.get("fieldPath"))) {
                            throw new AssertionError(at + ".env[" + e.get("name") + "]: fieldPath " + f.get("fieldPath"));
                        }
                    }
                }
                for (Map<String, Object> e : (List<Map<String, Object>>) c.getOrDefault("envFrom", List.of())) {
                    only(at + ".envFrom", e, Set.of("configMapRef"));
                }
                for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
                    if (c.get(probe) != null) only(at + "." + probe, (Map<String, Object>) c.get(probe), PROBE);
                }
                for (Map<String, Object> m : (List<Map<String, Object>>) c.getOrDefault("volumeMounts", List.of())) only(at + ".volumeMounts", m, MOUNT);
                for (Map<String, Object> p : (List<Map<String, Object>>) c.getOrDefault("ports", List.of())) only(at + ".ports", p, PORT);
            }
        }
        for (Map<String, Object> v : (List<Map<String, Object>>) s.getOrDefault("volumes", List.of())) only(pod + ".spec.volumes", v, VOLUME);
    }

    private static void only(String at, Map<String, Object> m, Set<String> known) {
        for (String k : m.keySet()) {
            if (!known.contains(k)) throw new AssertionError("the harness does not understand " + at + "." + k + " = " + m.get(k));
        }
    }

    private PodSpecCheck() {
    }
}
