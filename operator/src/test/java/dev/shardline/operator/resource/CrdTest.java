package dev.shardline.operator.resource;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.client.utils.Serialization;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CRD under k8s/ is the one generated from the Java types (the build writes it to target/classes). */
class CrdTest {
    static final Path GENERATED = Path.of("target/classes/META-INF/fabric8/inferenceclusters.shardline.dev-v1.yml");
    static final Path COMMITTED = Path.of("../k8s/base/crd.yaml");

    static CustomResourceDefinition read(Path p) throws IOException {
        return Serialization.unmarshal(Files.readString(p), CustomResourceDefinition.class);
    }

    @Test
    void theCommittedCrdIsTheGeneratedOne() throws IOException {
        assertTrue(Files.exists(GENERATED), "the build generates " + GENERATED);
        assertEquals(read(GENERATED), read(COMMITTED),
                "k8s/base/crd.yaml differs from the CRD generated from the Java types: cp operator/" + GENERATED + " k8s/base/crd.yaml");
    }

    @Test
    void theCrdHasTheScaleSubresourcePrinterColumnsAndValidation() throws IOException {
        CustomResourceDefinition crd = read(COMMITTED);
        assertEquals("inferenceclusters.shardline.dev", crd.getMetadata().getName());
        assertEquals(List.of("infc"), crd.getSpec().getNames().getShortNames());
        CustomResourceDefinitionVersion v = crd.getSpec().getVersions().getFirst();
        assertEquals("v1alpha1", v.getName());
        assertEquals(".spec.pipelines", v.getSubresources().getScale().getSpecReplicasPath());
        assertEquals(".status.readyPipelines", v.getSubresources().getScale().getStatusReplicasPath());
        assertEquals(".status.selector", v.getSubresources().getScale().getLabelSelectorPath());
        assertNotNull(v.getSubresources().getStatus());
        assertEquals(List.of("Age", "Backlog", "Desired", "Ready", "Stages"),
                v.getAdditionalPrinterColumns().stream().map(c -> c.getName()).sorted().toList());
        var spec = v.getSchema().getOpenAPIV3Schema().getProperties().get("spec");
        assertTrue(spec.getRequired().containsAll(List.of("image", "model", "workers")), "required: " + spec.getRequired());
        assertEquals(List.of("cpu", "cuda", "reference"), spec.getProperties().get("workers").getProperties().get("backend")
                .getEnum().stream().map(j -> j.asText()).sorted().toList());
        assertEquals(1.0, spec.getProperties().get("stages").getMinimum());
        assertEquals(1, spec.getProperties().get("model").getXKubernetesValidations().size());
    }
}
