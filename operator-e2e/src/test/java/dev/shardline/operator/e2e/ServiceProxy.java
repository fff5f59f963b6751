package dev.shardline.operator.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.function.Supplier;

/** kube-proxy for one Service port: a listener on the Service's cluster IP that forwards to a backing pod. */
final class ServiceProxy implements AutoCloseable {
    private final ServerSocket listener;

    ServiceProxy(String clusterIp, int port, Supplier<InetSocketAddress> backend) throws IOException {
        listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(new InetSocketAddress(InetAddress.getByName(clusterIp), port));
        Thread.ofVirtual().name("proxy-" + clusterIp + ":" + port).start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket in = listener.accept();
                    InetSocketAddress to = backend.get();
                    if (to == null) {
                        in.close();                         // no endpoint: connection refused, as with no ready pod
                        continue;
                    }
                    Socket out = new Socket();
                    try {
                        out.connect(to, 2000);
                    } catch (IOException e) {
                        in.close();
                        continue;
                    }
                    pump(in, out);
                    pump(out, in);
                } catch (IOException e) {
                    // listener closed
                }
            }
        });
    }

    private static void pump(Socket from, Socket to) {
        Thread.ofVirtual().start(() -> {
            try (InputStream i = from.getInputStream(); OutputStream o = to.getOutputStream()) {
                i.transferTo(o);
            } catch (IOException ignored) {
                // either side closed
            } finally {
                try {
                    from.close();
                    to.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        });
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
