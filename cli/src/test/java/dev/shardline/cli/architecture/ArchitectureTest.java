package dev.shardline.cli.architecture;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * The layering rules, checked on the compiled classes of every module (this module's test class path holds them
 * all): dependencies point one way, the pure cores hold no transport type, only the CUDA backend touches JNI, and no
 * module reaches into another's adapters. A rule that is broken fails the build with the offending dependency.
 */
class ArchitectureTest {
    static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.shardline");
    }

    @Test
    void theModelUsesNothingButTheJdk() {
        noClasses().that().resideInAPackage("dev.shardline.model..")
                .should().dependOnClassesThat().resideOutsideOfPackages("java..", "jdk..", "dev.shardline.model..")
                .because("model is the engine every process embeds; it imports nothing outside the JDK")
                .check(classes);
    }

    @Test
    void theContractsDependOnNoModule() {
        noClasses().that().resideInAPackage("dev.shardline.proto..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.shardline.model..", "dev.shardline.worker..",
                        "dev.shardline.coordinator..", "dev.shardline.cli..")
                .check(classes);
    }

    @Test
    void theOperatorUsesTheContractsAndKubernetesOnly() {
        noClasses().that().resideInAPackage("dev.shardline.operator..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.shardline.model..", "dev.shardline.worker..",
                        "dev.shardline.coordinator..", "dev.shardline.cli..", "io.vertx..")
                .because("the operator reaches the coordinator over its gRPC contracts (proto) and Kubernetes over Fabric8")
                .check(classes);
        noClasses().that().resideOutsideOfPackages("dev.shardline.operator..", "dev.shardline.cli..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.shardline.operator..", "io.fabric8..", "io.javaoperatorsdk..")
                .because("only the operator (and the cli that launches it) knows Kubernetes")
                .check(classes);
        noClasses().that().resideInAnyPackage("dev.shardline.operator.desired..", "dev.shardline.operator.autoscale..",
                        "dev.shardline.operator.groups..")
                .should().dependOnClassesThat().resideInAnyPackage("io.fabric8.kubernetes.client..", "io.javaoperatorsdk..",
                        "io.grpc..", "dev.shardline.proto..", "java.net..", "java.util.concurrent..",
                        "dev.shardline.operator.reconcile..", "dev.shardline.operator.coordinator..")
                .because("desired objects, the scaling policy and the group planner are pure functions of their inputs")
                .check(classes);
    }

    @Test
    void workersAndTheCoordinatorDoNotKnowEachOther() {
        noClasses().that().resideInAPackage("dev.shardline.worker..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.shardline.coordinator..", "dev.shardline.cli..")
                .check(classes);
        noClasses().that().resideInAPackage("dev.shardline.coordinator..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.shardline.worker..", "dev.shardline.cli..")
                .check(classes);
    }

    @Test
    void theCoordinatorsCoresHoldNoTransportType() {
        ArchRule pure = noClasses().that().resideInAnyPackage("dev.shardline.coordinator.plan..",
                        "dev.shardline.coordinator.schedule..", "dev.shardline.coordinator.desired..",
                        "dev.shardline.coordinator.generation..", "dev.shardline.coordinator.cluster..",
                        "dev.shardline.coordinator.config..")
                .should().dependOnClassesThat().resideInAnyPackage("io.grpc..", "com.google.protobuf..",
                        "dev.shardline.proto..", "io.netty..", "dev.shardline.coordinator.grpc..",
                        "dev.shardline.coordinator.server..", "io.vertx..", "io.prometheus..",
                        "dev.shardline.coordinator.http..", "dev.shardline.coordinator.metrics..")
                .because("the domain is transport-neutral: gRPC, HTTP (and later Kafka) adapters only translate");
        pure.check(classes);
    }

    @Test
    void theHttpAdapterAndTheMetricsStayInTheirLanes() {
        noClasses().that().resideInAPackage("dev.shardline.coordinator.http..")
                .should().dependOnClassesThat().resideInAnyPackage("io.grpc..", "com.google.protobuf..", "dev.shardline.proto..",
                        "dev.shardline.coordinator.grpc..", "dev.shardline.coordinator.cluster..",
                        "dev.shardline.coordinator.schedule..", "dev.shardline.coordinator.server..")
                .because("the HTTP API is an adapter over the generation service only (health and metrics come in as "
                        + "functions), like the gRPC one")
                .check(classes);
        noClasses().that().resideInAPackage("dev.shardline.coordinator.metrics..")
                .should().dependOnClassesThat().resideInAnyPackage("io.vertx..", "io.netty..", "io.grpc..",
                        "dev.shardline.proto..", "dev.shardline.coordinator.http..", "dev.shardline.coordinator.grpc..")
                .because("metrics are computed from the generation service and the cluster status, whatever the transport")
                .check(classes);
        noClasses().that().resideOutsideOfPackage("dev.shardline.coordinator..")
                .should().dependOnClassesThat().resideInAPackage("dev.shardline.coordinator.http..")
                .because("the HTTP adapter is the coordinator's own; others reach it over HTTP or through CoordinatorProcess")
                .check(classes);
        noClasses().that().resideOutsideOfPackages("dev.shardline.coordinator.http..", "dev.shardline.cli..")
                .should().dependOnClassesThat().resideInAPackage("io.vertx..")
                .because("Vert.x is the HTTP adapter's transport and nobody else's")
                .check(classes);
    }

    @Test
    void thePlannerTheSchedulerAndTheDesiredClusterArePureFunctionsOfTheirInputs() {
        noClasses().that().resideInAnyPackage("dev.shardline.coordinator.plan..", "dev.shardline.coordinator.schedule..",
                        "dev.shardline.coordinator.desired..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.shardline.coordinator.cluster..",
                        "dev.shardline.coordinator.generation..", "java.util.concurrent..", "java.net..", "java.nio.channels..")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.lang.Thread")
                .check(classes);
    }

    @Test
    void onlyTheCudaBackendTouchesJni() {
        methods().that().haveModifier(JavaModifier.NATIVE)
                .should().beDeclaredInClassesThat().resideInAPackage("dev.shardline.worker.cuda..")
                .check(classes);
        noClasses().that().resideOutsideOfPackage("dev.shardline.worker.cuda..")
                .should().callMethod(System.class, "load", String.class)
                .orShould().callMethod(System.class, "loadLibrary", String.class)
                .check(classes);
        noClasses().that().resideOutsideOfPackages("dev.shardline.worker.cuda..", "dev.shardline.worker.host..",
                        "dev.shardline.model.host..")
                .should().dependOnClassesThat().haveFullyQualifiedName("java.lang.foreign.Linker")
                .because("native calls through the FFM API are fenced like JNI: the GPU backend, the worker's "
                        + "host-priority call, the C library's mmap/madvise for weights on huge pages (docs/adr/0015) "
                        + "and the CPU backend's integer kernels for quantized products (docs/adr/0016) only")
                .check(classes);
    }

    @Test
    void noModuleReachesIntoAnothersInternals() {
        noClasses().that().resideOutsideOfPackage("dev.shardline.coordinator..")
                .should().dependOnClassesThat().resideInAPackage("dev.shardline.coordinator.grpc..")
                .because("the coordinator's gRPC adapters are its own; others use CoordinatorProcess or the API")
                .check(classes);
        DescribedPredicate<JavaClass> workerInternals = JavaClass.Predicates.resideInAnyPackage(
                        "dev.shardline.worker.server..", "dev.shardline.worker.stage..")
                .and(DescribedPredicate.not(JavaClass.Predicates.simpleNameStartingWith("Worker")))
                .as("the worker's internals (all of server and stage but WorkerProcess, WorkerMain, WorkerStartException)");
        noClasses().that().resideOutsideOfPackage("dev.shardline.worker..")
                .should().dependOnClassesThat(workerInternals)
                .check(classes);
    }

    @Test
    void kafkaStaysInTheBatchAdapterAndTheBrokerInTheCommandLine() {
        noClasses().that().resideOutsideOfPackages("dev.shardline.coordinator.batch..", "dev.shardline.coordinator.config..",
                        "dev.shardline.cli..")
                .should().dependOnClassesThat().resideInAPackage("org.apache.kafka..")
                .because("batch jobs are one more adapter over the generation service (the config only checks the "
                        + "pass-through settings' names against the client's)")
                .check(classes);
        noClasses().that().resideInAPackage("dev.shardline.coordinator..")
                .should().dependOnClassesThat().resideInAnyPackage("kafka..", "org.apache.kafka.server..",
                        "org.apache.kafka.metadata..", "org.apache.kafka.raft..", "org.apache.kafka.storage..")
                .because("the coordinator depends on the Kafka client only; the broker runs in the command line and tests")
                .check(classes);
        noClasses().that().resideInAPackage("dev.shardline.coordinator.batch..")
                .should().dependOnClassesThat().resideInAnyPackage("io.vertx..", "io.grpc..", "dev.shardline.proto..",
                        "dev.shardline.coordinator.cluster..", "dev.shardline.coordinator.grpc..")
                .because("the batch loop reaches the cluster through the generation service, as every front end does")
                .check(classes);
    }
}
