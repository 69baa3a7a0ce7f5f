package io.imgcache.http;

import io.imgcache.cache.CachePolicy;
import io.imgcache.group.Group;
import io.imgcache.group.Source;
import io.imgcache.key.KeyPolicy;
import io.imgcache.metrics.Metrics;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.peer.ClusterPurge;
import io.imgcache.peer.PeerProtocol;
import io.imgcache.ring.Cluster;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.connector.ByteBufferPool;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.GracefulShutdownHandler;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Protocols;
import io.undertow.util.StatusCodes;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
  public record Routes(Group group, KeyPolicy keys, CachePolicy policy, boolean passCookies, HttpHandler peerHandler,
      ClusterPurge purge, Cluster cluster, Metrics metrics,
      BooleanSupplier ready, String adminToken, URI origin, Duration originTimeout, PooledHttpClient originClient,
      int maxHeaderLine) {}

  private HttpServer(Undertow undertow, GracefulShutdownHandler graceful) {
    this.undertow = undertow;
    this.graceful = graceful;
  }

  /**
   * Binds {@code host:port} (0 = any free port) and starts serving on {@code worker}'s IO threads.
   * Blocks until bound.
   */
  public static HttpServer start(String host, int port, XnioWorker worker, ByteBufferPool buffers, Routes routes) {
    // On the origin client's pool: one connection budget and one wait queue for loads and pass-through.
    HttpHandler passThrough = new PassThrough(routes.originClient(), routes.origin(), routes.originTimeout(),
        routes.metrics());
    FrontHandler front = new FrontHandler(routes.group(), routes.keys(), routes.passCookies(), routes.policy(),
        passThrough, key -> routes.purge().purge(key), routes.metrics());
    AdminHandler admin = new AdminHandler(routes.metrics(), routes.cluster(), routes.group(), routes.keys(),
        routes.purge(), routes.ready(), routes.adminToken());
    HttpHandler peers = routes.peerHandler();
    HttpHandler purge = admin.purgeHandler();
    HttpHandler router = exchange -> {
      if (refusedFraming(exchange, routes.maxHeaderLine(), routes.metrics())) {
        return;
      }
      String path = exchange.getRequestPath();
      if (path.startsWith(PeerProtocol.PREFIX)) {
        peers.handleRequest(exchange);
        return;
      }
      if (exchange.getRequestMethod().equals(PURGE)) {
        purge.handleRequest(exchange);
        return;
      }
      (path.startsWith(AdminHandler.PREFIX) ? admin.route(path) : front).handleRequest(exchange);
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

  /**
   * Answers a request whose version or body framing Undertow's parser lets through but RFC 9112
   * says to refuse, before any handler reads its body; returns whether it did. Each one closes the
   * connection: what follows on it cannot be trusted to be a request.
   */
  private static boolean refusedFraming(HttpServerExchange exchange, int maxHeaderLine, Metrics metrics) {
    int status = 0;
    String reason = null;
    String longLine = longHeaderLine(exchange, maxHeaderLine);
    if (!exchange.getProtocol().toString().startsWith("HTTP/1.")) {
      // RFC 9110 §6.2: Undertow passes "HTTP/0.9" on and would answer it with headers, as 1.x.
      // (Other unknown versions, e.g. HTTP/9.9, it has already turned into HTTP/1.1.)
      exchange.setProtocol(Protocols.HTTP_1_1);
      status = StatusCodes.HTTP_VERSION_NOT_SUPPORTED;
      reason = "only HTTP/1.x is supported";
    } else if (longLine != null) {
      // nginx refuses a header line longer than its buffer (8k by default) likewise; RFC 6585 §5.
      status = StatusCodes.REQUEST_HEADER_FIELDS_TOO_LARGE;
      reason = "header line " + longLine + " longer than " + maxHeaderLine + " bytes";
    } else if (exchange.getRequestHeaders().contains(Headers.TRANSFER_ENCODING)) {
      List<String> codings = new ArrayList<>();
      for (String value : exchange.getRequestHeaders().get(Headers.TRANSFER_ENCODING)) {
        for (String coding : value.split(",")) {
          codings.add(coding.trim());
        }
      }
      if (!codings.get(codings.size() - 1).equalsIgnoreCase("chunked")) {
        // RFC 9112 §6.3: the length cannot be determined. Undertow would wait for EOF ("xchunked")
        // or answer 502 and keep reading the connection ("gzip").
        status = StatusCodes.BAD_REQUEST;
        reason = "Transfer-Encoding must end with chunked";
      } else if (codings.size() > 1) {
        // RFC 9112 §6.1: a coding we do not understand; the proxy would forward "gzip, chunked" as is.
        status = StatusCodes.NOT_IMPLEMENTED;
        reason = "only Transfer-Encoding: chunked is supported";
      }
    } else if (exchange.getRequestContentLength() > MAX_REQUEST_BODY) {
      // The proxy would fail reading past MAX_ENTITY_SIZE and the client would see a 502.
      status = StatusCodes.REQUEST_ENTITY_TOO_LARGE;
      reason = "request body larger than " + MAX_REQUEST_BODY + " bytes";
    }
    if (status == 0) {
      return false;
    }
    exchange.setPersistent(false);
    exchange.getResponseHeaders().put(ResponseWriter.X_CACHE, Source.PASS.header());
    Responses.text(exchange, status, reason);
    metrics.refused(status);
    return true;
  }

  /** The name of the first header whose line ({@code name: value}) is longer than {@code max}, or null. */
  private static String longHeaderLine(HttpServerExchange exchange, int max) {
    for (HeaderValues values : exchange.getRequestHeaders()) {
      int name = values.getHeaderName().length();
      for (String value : values) {
        if (name + 2 + value.length() > max) {
          return values.getHeaderName().toString();
        }
      }
    }
    return null;
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
