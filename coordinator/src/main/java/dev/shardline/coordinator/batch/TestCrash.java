package dev.shardline.coordinator.batch;

import java.io.IOException;

/**
 * The crash tests' hook ({@code batch-test-crash}, refused unless test hooks are on): at a named point of the N-th
 * transaction the process sends itself SIGKILL, the same death as {@code kill -9} from outside, at an exact place.
 * {@code offsetsFirst} breaks exactly-once on purpose (tests show their check fails then): offsets are committed
 * by the consumer, outside the transaction, before its results are.
 */
record TestCrash(String point, long transaction, boolean offsetsFirst) {
    static final String OFFSETS_FIRST = ",offsets-first";

    static TestCrash parse(String spec) {
        if (spec.isEmpty()) return new TestCrash("", 0, false);
        boolean offsetsFirst = spec.endsWith(OFFSETS_FIRST);
        if (offsetsFirst) spec = spec.substring(0, spec.length() - OFFSETS_FIRST.length());
        int c = spec.indexOf(':');
        return new TestCrash(spec.substring(0, c), Long.parseLong(spec.substring(c + 1)), offsetsFirst);
    }

    void at(String here, long n) {
        if (!here.equals(point) || n != transaction) return;
        System.err.println("batch: test crash: SIGKILL at " + here + " of transaction " + n);
        System.err.flush();
        try {
            new ProcessBuilder("kill", "-9", Long.toString(ProcessHandle.current().pid())).inheritIO().start().waitFor();
            Thread.sleep(10_000);
        } catch (IOException | InterruptedException e) {
            // no kill command: die the same way without it
        }
        Runtime.getRuntime().halt(137);
    }
}
