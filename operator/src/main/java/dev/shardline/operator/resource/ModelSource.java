package dev.shardline.operator.resource;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

/** The checkpoint: exactly one of a PVC, a host path, or a demo model written by an init container. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "(has(self.pvc) ? 1 : 0) + (has(self.hostPath) ? 1 : 0) + (has(self.demo) ? 1 : 0) == 1",
        message = "set exactly one of model.pvc, model.hostPath and model.demo")
public record ModelSource(
        @Required @Pattern("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$") @JsonPropertyDescription("the model id clients ask for, e.g. qwq-32b")
        String id,
        @Pattern("^[^/].*$") @JsonPropertyDescription("the checkpoint directory inside the volume (default: the volume's root)")
        String path,
        @JsonPropertyDescription("a PersistentVolumeClaim holding the checkpoint (mounted read-only)")
        PvcSource pvc,
        @Pattern("^/.*$") @JsonPropertyDescription("a directory on every node holding the checkpoint")
        String hostPath,
        @JsonPropertyDescription("a seeded demo model written into an emptyDir by an init container (tests and demos)")
        DemoModel demo) {

    /** A claim and whether to mount it read-only. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record PvcSource(@Required @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$") String claimName) {
    }

    /** {@code shardline model create --preset P --layers N}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record DemoModel(@Required Preset preset, @io.fabric8.generator.annotation.Min(1) Integer layers) {
        /** The demo presets. */
        public enum Preset { tiny, small }
    }
}
