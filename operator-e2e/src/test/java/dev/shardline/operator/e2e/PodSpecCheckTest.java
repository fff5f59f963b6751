package dev.shardline.operator.e2e;

import dev.shardline.operator.desired.Desired;
import dev.shardline.operator.desired.Settings;
import dev.shardline.operator.desired.WorkerGroup;
import dev.shardline.operator.resource.InferenceClusterSpec;
import dev.shardline.operator.resource.ModelSource;
import dev.shardline.operator.resource.WorkerTemplate;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The harness accepts what the operator writes and refuses any field it does not honour. */
class PodSpecCheckTest {
    static Pod worker() {
        Settings s = Settings.of(new InferenceClusterSpec("shardline:e2e", null,
                new ModelSource("tiny", null, null, null, new ModelSource.DemoModel(ModelSource.DemoModel.Preset.tiny, null)),
                new WorkerTemplate(WorkerTemplate.Backend.cpu, "1Gi", 1, null, null, null, null, null, "zone", null),
                1, 1, 0, 1, null, null, null, null, 30));
        return Desired.of(new Desired.Owner("shardline.dev/v1alpha1", "InferenceCluster", "t", "ns", "u"), s,
                List.of(new WorkerGroup(0, s.templateHash()))).pods().getFirst();
    }

    @Test
    void theOperatorsPodsPassAndUnknownFieldsFail() {
        PodSpecCheck.check("ok", worker().getSpec(), "shardline:e2e");
        AssertionError hostNetwork = assertThrows(AssertionError.class, () -> PodSpecCheck.check("p",
                new PodBuilder(worker()).editSpec().withHostNetwork(true).endSpec().build().getSpec(), "shardline:e2e"));
        assertTrue(hostNetwork.getMessage().contains("hostNetwork"), hostNetwork.getMessage());
        AssertionError command = assertThrows(AssertionError.class, () -> PodSpecCheck.check("p",
                new PodBuilder(worker()).editSpec().editFirstContainer().withCommand("sh").endContainer().endSpec().build().getSpec(),
                "shardline:e2e"));
        assertTrue(command.getMessage().contains("command"), command.getMessage());
        AssertionError field = assertThrows(AssertionError.class, () -> PodSpecCheck.check("p",
                new PodBuilder(worker()).editSpec().editFirstContainer().editFirstEnv().withValue(null).withNewValueFrom()
                        .withNewFieldRef().withFieldPath("spec.nodeName").endFieldRef().endValueFrom().endEnv().endContainer()
                        .endSpec().build().getSpec(), "shardline:e2e"));
        assertTrue(field.getMessage().contains("spec.nodeName"), field.getMessage());
        assertThrows(AssertionError.class, () -> PodSpecCheck.check("p", worker().getSpec(), "other:image"));
    }
}
