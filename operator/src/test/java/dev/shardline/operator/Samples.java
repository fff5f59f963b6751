package dev.shardline.operator;

import dev.shardline.operator.resource.Autoscaling;
import dev.shardline.operator.resource.InferenceCluster;
import dev.shardline.operator.resource.InferenceClusterSpec;
import dev.shardline.operator.resource.ModelSource;
import dev.shardline.operator.resource.WorkerTemplate;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

/** InferenceClusters for tests. */
public final class Samples {

    /** {@code stages} null: automatic (the coordinator's planner decides for the 2Gi workers). */
    public static InferenceClusterSpec tinySpec(Integer stages, int pipelines) {
        return new InferenceClusterSpec("shardline:test", null,
                new ModelSource("tiny", null, null, null, new ModelSource.DemoModel(ModelSource.DemoModel.Preset.tiny, null)),
                new WorkerTemplate(WorkerTemplate.Backend.cpu, "2Gi", 1, null, null, null, null, null, null, null),
                stages, pipelines, 0, 4, null, null, null, null, 20);
    }

    public static InferenceClusterSpec autoscaled(int stages) {
        InferenceClusterSpec s = tinySpec(stages, 1);
        return new InferenceClusterSpec(s.image(), s.imagePullPolicy(), s.model(), s.workers(), s.stages(), 1, 0, 3,
                new Autoscaling(true, 1000L, 2, 0.9, 10, 0, 0, 0, 0), null, null, null, 20);
    }

    public static InferenceCluster cluster(String name, InferenceClusterSpec spec) {
        InferenceCluster c = new InferenceCluster();
        c.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("ml").withUid("uid-" + name).withGeneration(1L).build());
        c.setSpec(spec);
        return c;
    }

    private Samples() {
    }
}
