package dev.shardline.model.chat;

/** A conversation the chat template cannot render (empty, or a message with an unknown role). */
public final class ChatTemplateException extends RuntimeException {
    public ChatTemplateException(String message) {
        super(message);
    }
}
