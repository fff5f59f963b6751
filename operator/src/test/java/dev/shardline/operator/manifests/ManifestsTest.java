package dev.shardline.operator.manifests;

import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.shardline.operator.desired.Settings;
import dev.shardline.operator.resource.InferenceCluster;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.utils.Serialization;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every manifest under k8s/ parses into typed Fabric8 objects; the sample InferenceClusters validate against the
 * CRD's schema (a JSON-schema validator) and the operator's own checks; {@code kubectl kustomize} renders each
 * overlay. kubectl comes from Debian's kubernetes-client package: installed here when missing, and the test fails,
 * not skips, without it.
 */
class ManifestsTest {
    static final Path K8S = Path.of("../k8s");
    static final List<String> OVERLAYS = List.of("cpu-demo", "gpu");
    static Schema schema;

    @BeforeAll
    static void loadSchema() throws IOException {
        CustomResourceDefinition crd = Serialization.unmarshal(Files.readString(K8S.resolve("base/crd.yaml")), CustomResourceDefinition.class);
        String openApi = Serialization.asJson(crd.getSpec().getVersions().getFirst().getSchema().getOpenAPIV3Schema());
        // the API server adds apiVersion, kind and metadata; the document's spec and status come from the CRD
        String wrapped = "{\"type\":\"object\",\"required\":[\"apiVersion\",\"kind\",\"metadata\",\"spec\"],\"properties\":{"
                + "\"apiVersion\":{\"enum\":[\"shardline.dev/v1alpha1\"]},\"kind\":{\"enum\":[\"InferenceCluster\"]},"
                + "\"metadata\":{\"type\":\"object\"},\"spec\":" + Serialization.asJson(Serialization.unmarshal(openApi, Map.class).get("properties") instanceof Map<?, ?> m ? m.get("spec") : null)
                + "}}";
        schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_4).getSchema(wrapped, InputFormat.JSON);
    }

    static List<Path> manifests() throws IOException {
        try (Stream<Path> s = Files.walk(K8S)) {
            return s.filter(p -> p.toString().endsWith(".yaml") && !p.getFileName().toString().equals("kustomization.yaml"))
                    .sorted().toList();
        }
    }

    static List<String> documents(Path p) throws IOException {
        List<String> docs = new ArrayList<>();
        for (String d : Files.readString(p).split("(?m)^---\\s*$")) if (!d.replaceAll("(?m)^#.*$", "").isBlank()) docs.add(d);
        return docs;
    }

    static List<Error> validate(String yaml) {
        Object tree = Serialization.unmarshal(yaml, Map.class);
        return schema.validate(Serialization.asJson(tree), InputFormat.JSON);
    }

    @Test
    void everyManifestParsesIntoTypedObjects() throws IOException {
        int n = 0;
        for (Path p : manifests()) {
            for (String doc : documents(p)) {
                KubernetesResource r = Serialization.unmarshal(doc);
                HasMetadata o = (HasMetadata) r;
                if ("InferenceCluster".equals(o.getKind())) {
                    InferenceCluster c = Serialization.unmarshal(doc, InferenceCluster.class);
                    Settings.of(c.getSpec());                     // the operator accepts it
                } else {
                    assertFalse(r instanceof GenericKubernetesResource, p + ": " + o.getKind() + " is not a typed Fabric8 object");
                }
                assertTrue(o.getMetadata().getName() != null && !o.getMetadata().getName().isBlank(), p + " names its object");
                n++;
            }
        }
        assertEquals(13, n, "objects under k8s/");
    }

    @Test
    void theSampleClustersValidateAgainstTheCrdSchemaAndNonsenseDoesNot() throws IOException {
        for (String overlay : OVERLAYS) {
            String sample = Files.readString(K8S.resolve("overlays").resolve(overlay).resolve("inferencecluster.yaml"));
            assertEquals(List.of(), validate(sample), overlay + "'s sample");
        }
        String good = Files.readString(K8S.resolve("overlays/cpu-demo/inferencecluster.yaml"));
        List<Error> e1 = validate(good.replace("backend: cpu", "backend: tpu"));
        assertFalse(e1.isEmpty(), "an unknown backend is refused");
        assertTrue(e1.toString().contains("backend"), e1.toString());
        assertFalse(validate(good.replace("stages: 2", "stages: 0")).isEmpty(), "stages below 1 are refused");
        assertFalse(validate(good.replace("  image: shardline:0.1.0\n", "")).isEmpty(), "the image is required");
        assertFalse(validate(good.replace("threads: 1", "threads: many")).isEmpty(), "a word where a number belongs is refused");
    }

    static String kubectl() throws IOException, InterruptedException {
        if (onPath("kubectl")) return "kubectl";
        // the test setup installs Debian's kubernetes-client where it is missing (needs root and the Debian mirror)
        Process p = new ProcessBuilder("sh", "-c", "(apt-get install -y kubernetes-client || (apt-get update && apt-get install -y kubernetes-client)) 2>&1")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(600, TimeUnit.SECONDS);
        if (!onPath("kubectl")) throw new AssertionError("kubectl is missing and could not be installed (apt-get install kubernetes-client):\n" + out);
        return "kubectl";
    }

    static boolean onPath(String cmd) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, cmd))) return true;
        }
        return false;
    }

    @Test
    void kubectlKustomizeRendersEachOverlay() throws IOException, InterruptedException {
        String kubectl = kubectl();
        for (String overlay : OVERLAYS) {
            Process p = new ProcessBuilder(kubectl, "kustomize", K8S.resolve("overlays").resolve(overlay).toString())
                    .redirectErrorStream(false).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), overlay + ": " + err);
            List<String> kinds = new ArrayList<>();
            for (String doc : out.split("(?m)^---\\s*$")) {
                if (doc.isBlank()) continue;
                HasMetadata o = Serialization.unmarshal(doc);
                kinds.add(o.getKind());
                if (o.getKind().equals("InferenceCluster")) {
                    assertEquals(List.of(), validate(doc), overlay + ": the rendered InferenceCluster");
                }
            }
            assertTrue(kinds.containsAll(List.of("CustomResourceDefinition", "Deployment", "ClusterRole", "ClusterRoleBinding",
                    "ServiceAccount", "Namespace", "InferenceCluster")), overlay + " renders " + kinds);
        }
    }
}
