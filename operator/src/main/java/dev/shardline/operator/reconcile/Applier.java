package dev.shardline.operator.reconcile;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;

/**
 * Writes desired objects. Server-side apply on a real API server; without it (Fabric8's mock) create or update,
 * skipped when the object's applied hash annotation already matches.
 */
final class Applier {
    static final String APPLIED = "shardline.dev/applied";
    private final KubernetesClient client;
    private final boolean serverSideApply;

    Applier(KubernetesClient client, boolean serverSideApply) {
        this.client = client;
        this.serverSideApply = serverSideApply;
    }

    void apply(HasMetadata desired) {
        String hash = hash(desired);
        var annotations = new HashMap<String, String>();
        if (desired.getMetadata().getAnnotations() != null) annotations.putAll(desired.getMetadata().getAnnotations());
        annotations.put(APPLIED, hash);
        desired.getMetadata().setAnnotations(annotations);
        if (serverSideApply) {
            client.resource(desired).fieldManager("shardline-operator").forceConflicts().serverSideApply();
            return;
        }
        HasMetadata existing = client.resource(desired).get();
        if (existing == null) {
            client.resource(desired).create();
        } else if (existing.getMetadata().getAnnotations() == null || !hash.equals(existing.getMetadata().getAnnotations().get(APPLIED))) {
            desired.getMetadata().setResourceVersion(existing.getMetadata().getResourceVersion());
            client.resource(desired).update();
        }
    }

    /** Creates an object that is never updated in place (a pod); nothing when it exists. */
    void createIfAbsent(HasMetadata desired) {
        if (client.resource(desired).get() == null) client.resource(desired).create();
    }

    static String hash(HasMetadata o) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(Serialization.asJson(o).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
