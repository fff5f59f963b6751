package dev.shardline.cli;

import java.util.concurrent.CountDownLatch;

/** Blocks a long-running command until the JVM is asked to stop, then closes what it started. */
final class Shutdown {
    static void awaitSignal(AutoCloseable started) throws InterruptedException {
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                started.close();
            } catch (Exception e) {
                System.err.println("error while stopping: " + e.getMessage());
            }
            stop.countDown();
        }));
        stop.await();
    }

    private Shutdown() {
    }
}
