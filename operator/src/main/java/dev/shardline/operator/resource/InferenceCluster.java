package dev.shardline.operator.resource;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * A sharded model served by a Shardline cluster: one coordinator and pipelines of worker pods (ADR 0012). The CRD
 * under k8s/base/ is generated from these types (crd-generator-maven-plugin); {@code CrdTest} keeps them equal.
 */
@Group(InferenceCluster.GROUP)
@Version(InferenceCluster.VERSION)
@Kind("InferenceCluster")
@Plural("inferenceclusters")
@ShortNames("infc")
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.readyPipelines", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Desired", jsonPath = ".status.desiredPipelines", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Stages", jsonPath = ".status.stages", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Backlog", jsonPath = ".status.backlogTokens", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class InferenceCluster extends CustomResource<InferenceClusterSpec, InferenceClusterStatus> implements Namespaced {
    public static final String GROUP = "shardline.dev";
    public static final String VERSION = "v1alpha1";

    public InferenceCluster() {
    }
}
