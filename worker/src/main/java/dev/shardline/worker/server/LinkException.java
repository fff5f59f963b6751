package dev.shardline.worker.server;

/** The downstream link (next stage or coordinator) cannot take a micro-batch: it failed, or it was closed. */
final class LinkException extends Exception {
    LinkException(String message) {
        super(message);
    }
}
