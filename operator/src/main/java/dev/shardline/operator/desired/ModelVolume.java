package dev.shardline.operator.desired;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;

import java.util.List;
import java.util.Optional;

/** The model volume every pod mounts at {@link Settings#MODEL_MOUNT}, and the demo model's init container. */
final class ModelVolume {
    static final String NAME = "model";

    static Volume volume(Settings s) {
        VolumeBuilder v = new VolumeBuilder().withName(NAME);
        if (s.model().pvc() != null) {
            v.withNewPersistentVolumeClaim().withClaimName(s.model().pvc().claimName()).withReadOnly(true).endPersistentVolumeClaim();
        } else if (s.model().hostPath() != null) {
            v.withNewHostPath().withPath(s.model().hostPath()).withType("Directory").endHostPath();
        } else {
            v.withNewEmptyDir().endEmptyDir();
        }
        return v.build();
    }

    static VolumeMount mount(Settings s) {
        return new VolumeMountBuilder().withName(NAME).withMountPath(Settings.MODEL_MOUNT)
                .withReadOnly(s.model().demo() == null).build();
    }

    /** {@code shardline model create} into the emptyDir, for a demo model; nothing otherwise. */
    static Optional<Container> init(Settings s) {
        if (s.model().demo() == null) return Optional.empty();
        List<String> args = new java.util.ArrayList<>(List.of("model", "create", "--preset", s.model().demo().preset().name(),
                "--out", s.modelDir()));
        if (s.model().demo().layers() != null) args.addAll(List.of("--layers", s.model().demo().layers().toString()));
        return Optional.of(new ContainerBuilder().withName("create-model").withImage(s.image())
                .withImagePullPolicy(s.pullPolicy()).withArgs(args)
                .withVolumeMounts(mount(s)).withSecurityContext(Security.container()).build());
    }

    private ModelVolume() {
    }
}
