package dev.shardline.cli;

import dev.shardline.operator.main.OperatorMain;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code ./shardline operator}: the Kubernetes operator (InferenceCluster controller), as the image runs it. */
@Command(name = "operator", description = "Run the Kubernetes operator for InferenceCluster resources (shardline.dev/v1alpha1). "
        + "Keys: --namespace (default all), --leader-election (default true), --lease-namespace, --period-seconds (default 10) "
        + "(or SHARDLINE_OPERATOR_* variables). Uses the pod's service account or the kube config.")
final class OperatorCommand implements Callable<Integer> {
    @Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws InterruptedException {
        return OperatorMain.run(System.getenv(), args.toArray(String[]::new));
    }
}
