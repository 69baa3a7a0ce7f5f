package io.imgcache.http;

import io.imgcache.group.Group;
import io.imgcache.key.KeyPolicy;
import io.imgcache.metrics.Metrics;
import io.imgcache.origin.OriginClient;
import io.imgcache.peer.ClusterPurge;
import io.imgcache.peer.PeerProtocol;
import io.imgcache.ring.Cluster;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.attribute.ExchangeAttributes;
import io.undertow.connector.ByteBufferPool;
import io.undertow.server.HttpHandler;
import io.undertow.server.handlers.GracefulShutdownHandler;
import io.undertow.server.handlers.ResponseCodeHandler;
import io.undertow.server.handlers.proxy.LoadBalancingProxyClient;
import io.undertow.server.handlers.proxy.ProxyHandler;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.xnio.Options;
import org.xnio.XnioWorker;

/**
 * One node's Undertow server: routes the node's own endpoints, the peer protocol and everything
 * else (the front handler), behind a graceful-shutdown handler. Start with {@link #start}, stop
 * with {@link #drain} then {@link #close}.
 */
public final class HttpServer implements AutoCloseable {
  /** Request bodies passed through to the origin are cut off past this. */
  static final long MAX_REQUEST_BODY = 64L << 20;

  private static final HttpString PURGE = HttpString.tryFromString("PURGE");

  private final Undertow undertow;
  private final GracefulShutdownHandler graceful;

  /** What the server serves. */
  public record Routes(Group group, KeyPolicy keys, HttpHandler peerHandler, ClusterPurge purge, Cluster cluster,
      Metrics metrics,
      BooleanSupplier ready, String adminToken, URI origin, Duration originTimeout, int originConnectionsPerThread) {}

  private HttpServer(Undertow undertow, GracefulShutdownHandler graceful) {
    this.undertow = undertow;
    this.graceful = graceful;
  }

  /**
   * Binds {@code host:port} (0 = any free port) and starts serving on {@code worker}'s IO threads.
   * Blocks until bound.
   */
  public static HttpServer start(String host, int port, XnioWorker worker, ByteBufferPool buffers, Routes routes) {
    HttpHandler passThrough = ProxyHandler.builder()
        .setProxyClient(new LoadBalancingProxyClient()
            .addHost(routes.origin())
            .setConnectionsPerThread(routes.originConnectionsPerThread()))
        .setMaxRequestTime((int) routes.originTimeout().toMillis())
        .setRewriteHostHeader(true)
        .setReuseXForwarded(true)
        .addRequestHeader(Headers.VIA, ExchangeAttributes.constant(OriginClient.VIA))
        .setNext(ResponseCodeHandler.HANDLE_404)
        .build();
    FrontHandler front = new FrontHandler(routes.group(), routes.keys(), passThrough, routes.metrics());
    AdminHandler admin = new AdminHandler(routes.metrics(), routes.cluster(), routes.group(), routes.keys(),
        routes.purge(), routes.ready(), routes.adminToken());
    HttpHandler peers = routes.peerHandler();
    HttpHandler purge = admin.purgeHandler();
    HttpHandler router = exchange -> {
      String path = exchange.getRequestPath();
      if (path.startsWith(PeerProtocol.PREFIX)) {
        peers.handleRequest(exchange);
        return;
      }
      if (exchange.getRequestMethod().equals(PURGE)) {
        purge.handleRequest(exchange);
        return;
      }
      HttpHandler own = admin.route(path);
      (own != null ? own : front).handleRequest(exchange);
    };
    GracefulShutdownHandler graceful = Handlers.gracefulShutdown(router);
    Undertow undertow = Undertow.builder()
        .addHttpListener(port, host)
        .setWorker(worker)
        .setByteBufferPool(buffers)
        .setHandler(graceful)
        // Keys are built from the raw target; the origin gets it unchanged.
        .setServerOption(UndertowOptions.DECODE_URL, false)
        .setServerOption(UndertowOptions.MAX_HEADER_SIZE, 32 * 1024)
        .setServerOption(UndertowOptions.MAX_HEADERS, 100)
        .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, MAX_REQUEST_BODY)
        .setServerOption(UndertowOptions.REQUEST_PARSE_TIMEOUT, 10_000)
        .setServerOption(UndertowOptions.NO_REQUEST_TIMEOUT, 60_000)
        .setSocketOption(Options.BACKLOG, 1024)
        .setSocketOption(Options.TCP_NODELAY, true)
        .build();
    undertow.start();
    return new HttpServer(undertow, graceful);
  }

  /** The bound port (useful when started with port 0). */
  public int port() {
    return ((InetSocketAddress) undertow.getListenerInfo().get(0).getAddress()).getPort();
  }

  /**
   * Stops accepting new requests (they get 503) and waits up to {@code timeout} for the ones in
   * flight to finish. Blocks; returns whether everything finished.
   */
  public boolean drain(Duration timeout) throws InterruptedException {
    graceful.shutdown();
    return graceful.awaitShutdown(timeout.toMillis());
  }

  /** Closes the listener and every connection. The worker is the caller's to shut down. */
  @Override
  public void close() {
    undertow.stop();
  }
}
