package dev.shardline.worker.server;

import sun.misc.Signal;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * How a worker process answers stop signals: the first SIGTERM (what Kubernetes sends before it kills a pod) asks
 * for a drain; a second SIGTERM, or a SIGINT (Ctrl-C), stops at once.
 *
 * <p>Signal handlers ({@code sun.misc.Signal}, from the jdk.unsupported module), not a shutdown hook: a drain takes
 * seconds to minutes, and all that time the worker must keep working (heartbeats, Forward streams, results) and
 * still hear a second signal. A shutdown hook runs when the JVM has already begun to exit: further signals are
 * swallowed, so the second SIGTERM could not cut the drain short; {@code System.exit} anywhere blocks; and the
 * process would exit 143 unless the hook halted the JVM. With handlers the JVM runs on normally until the worker has
 * stopped, and the main method returns 0.
 */
final class StopSignals {

    /** What the signals ask for. Called on the JVM's signal-dispatch threads. */
    interface Listener {
        /** The first SIGTERM. */
        void drain();

        /** A second SIGTERM, or SIGINT. */
        void stopNow(String signal);
    }

    private StopSignals() {
    }

    /** Installs the handlers; false (logged) when this JVM does not let us handle them (e.g. run with -Xrs). */
    static boolean install(Listener listener, Consumer<String> log) {
        AtomicInteger terms = new AtomicInteger();
        try {
            Signal.handle(new Signal("TERM"), s -> {
                if (terms.incrementAndGet() == 1) {
                    log.accept("SIGTERM: draining (a second SIGTERM, or SIGINT, stops at once)");
                    listener.drain();
                } else {
                    log.accept("SIGTERM again: stopping now");
                    listener.stopNow("SIGTERM");
                }
            });
            Signal.handle(new Signal("INT"), s -> {
                log.accept("SIGINT: stopping now");
                listener.stopNow("SIGINT");
            });
            return true;
        } catch (IllegalArgumentException e) {
            log.accept("cannot handle SIGTERM/SIGINT (" + e.getMessage() + "): they stop the worker without a drain");
            return false;
        }
    }
}
