package dev.shardline.operator.desired;

import java.util.LinkedHashMap;
import java.util.Map;

/** The names, labels and ports of everything one InferenceCluster owns. */
public record Names(String cluster) {
    public static final String LABEL_CLUSTER = "shardline.dev/cluster";
    public static final String LABEL_COMPONENT = "app.kubernetes.io/component";
    public static final String LABEL_GROUP = "shardline.dev/group";
    public static final String LABEL_STAGE = "shardline.dev/stage";
    public static final String LABEL_TEMPLATE = "shardline.dev/template";
    public static final int GRPC_PORT = 7070;
    public static final int HTTP_PORT = 8000;
    public static final int STAGE_PORT = 7001;

    public String coordinator() {
        return cluster + "-coordinator";
    }

    public String workersService() {
        return cluster + "-workers";
    }

    public String config() {
        return cluster + "-config";
    }

    public String adminSecret() {
        return cluster + "-admin";
    }

    public String serviceAccount() {
        return cluster + "-shardline";
    }

    public String role() {
        return cluster + "-shardline";
    }

    public String pdb() {
        return cluster + "-workers";
    }

    public String networkPolicy() {
        return cluster + "-stages";
    }

    /** Worker pod of group g, stage s: the coordinator knows it by this name (its worker id). */
    public String worker(int group, int stage) {
        return cluster + "-g" + group + "-s" + stage;
    }

    /** host:port of the coordinator's gRPC endpoint, as pods reach it. */
    public String coordinatorAddress() {
        return coordinator() + ":" + GRPC_PORT;
    }

    public Map<String, String> common(String component) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("app.kubernetes.io/name", "shardline");
        m.put("app.kubernetes.io/instance", cluster);
        m.put("app.kubernetes.io/managed-by", "shardline-operator");
        m.put(LABEL_COMPONENT, component);
        m.put(LABEL_CLUSTER, cluster);
        return m;
    }

    /** Selects every worker pod of this cluster (the /scale selector, the PDB, the network policy). */
    public Map<String, String> workerSelector() {
        return Map.of(LABEL_CLUSTER, cluster, LABEL_COMPONENT, "worker");
    }

    public String workerSelectorString() {
        return LABEL_CLUSTER + "=" + cluster + "," + LABEL_COMPONENT + "=worker";
    }

    public Map<String, String> coordinatorSelector() {
        return Map.of(LABEL_CLUSTER, cluster, LABEL_COMPONENT, "coordinator");
    }
}
