package dev.shardline.coordinator.grpc.api;

import dev.shardline.proto.v1.AdminGrpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Guards {@code shardline.v1.Admin} with a bearer token when one is configured: no token is UNAUTHENTICATED, a
 * wrong one PERMISSION_DENIED (compared in constant time). Other services pass untouched.
 */
public final class AdminAuth implements ServerInterceptor {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private final byte[] token;

    /** {@code token}: the admin token, or "" for none (every admin call is allowed). */
    public AdminAuth(String token) {
        this.token = token.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (token.length == 0 || !AdminGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())) {
            return next.startCall(call, headers);
        }
        String value = headers.get(AUTHORIZATION);
        if (value == null || !value.startsWith("Bearer ")) {
            call.close(Status.UNAUTHENTICATED.withDescription("admin calls need \"authorization: Bearer <admin token>\""),
                    new Metadata());
            return new ServerCall.Listener<>() { };
        }
        byte[] given = value.substring("Bearer ".length()).getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(given, token)) {
            call.close(Status.PERMISSION_DENIED.withDescription("the admin token is wrong"), new Metadata());
            return new ServerCall.Listener<>() { };
        }
        return next.startCall(call, headers);
    }
}
