package io.imgcache.http;

import io.imgcache.cache.CachePolicy;
import io.imgcache.group.Group;
import io.imgcache.group.Source;
import io.imgcache.key.KeyPolicy;
import io.imgcache.metrics.Metrics;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.peer.ClusterBan;
import io.imgcache.metrics.NodeStatus;
import io.imgcache.peer.ClusterPurge;
import io.imgcache.peer.ClusterStatus;
import io.imgcache.peer.PeerProtocol;
import io.imgcache.ring.Cluster;
import io.undertow.Handlers;
import io.undertow.UndertowOptions;
import io.undertow.connector.ByteBufferPool;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpOpenListener;
import io.undertow.server.handlers.GracefulShutdownHandler;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Protocols;
import io.undertow.util.StatusCodes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.xnio.ChannelListener;
import org.xnio.ChannelListeners;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.channels.AcceptingChannel;
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

  private final AcceptingChannel<StreamConnection> listener;
  private final GracefulShutdownHandler graceful;

  /** What the server serves. */
  public record Routes(Group group, KeyPolicy keys, CachePolicy policy, boolean passCookies, HttpHandler peerHandler,
      ClusterPurge purge, ClusterBan ban, NodeStatus status, ClusterStatus clusterStatus, Cluster cluster,
      Metrics metrics,
      BooleanSupplier ready, String adminToken, URI origin, Duration originTimeout, PooledHttpClient originClient,
      int maxHeaderLine, CompletableFuture<Void> membersKnown) {}

  private HttpServer(AcceptingChannel<StreamConnection> listener, GracefulShutdownHandler graceful) {
    this.listener = listener;
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
        passThrough, key -> routes.purge().purge(key), routes.originTimeout(), routes.metrics());
    AdminHandler admin = new AdminHandler(routes.metrics(), routes.cluster(), routes.group(), routes.keys(),
        routes.purge(), routes.ban(), routes.status(), routes.clusterStatus(), routes.ready(), routes.adminToken());
    HttpHandler clients = new AwaitMembers(routes.membersKnown(), front);
    HttpHandler peers = routes.peerHandler();
    HttpHandler purge = admin.purgeHandler();
    VersionSniffer versions = new VersionSniffer();
    HttpHandler router = exchange -> {
      if (refusedFraming(exchange, versions, routes.maxHeaderLine(), routes.metrics())) {
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
      (path.startsWith(AdminHandler.PREFIX) ? admin.route(path) : clients).handleRequest(exchange);
    };
    GracefulShutdownHandler graceful = Handlers.gracefulShutdown(router);
    // What Undertow.builder().addHttpListener(...).start() assembles, with one addition: each
    // connection's reads pass the version sniffer first.
    HttpOpenListener open = new HttpOpenListener(buffers, OptionMap.builder()
        .set(UndertowOptions.BUFFER_PIPELINED_DATA, true)
        // Keys are built from the raw target; the origin gets it unchanged.
        .set(UndertowOptions.DECODE_URL, false)
        .set(UndertowOptions.MAX_HEADER_SIZE, 32 * 1024)
        .set(UndertowOptions.MAX_HEADERS, 100)
        .set(UndertowOptions.MAX_ENTITY_SIZE, MAX_REQUEST_BODY)
        .set(UndertowOptions.REQUEST_PARSE_TIMEOUT, 10_000)
        .set(UndertowOptions.NO_REQUEST_TIMEOUT, 60_000)
        .getMap());
    open.setRootHandler(graceful);
    ChannelListener<StreamConnection> accepted = connection -> {
      versions.watch(connection);
      open.handleEvent(connection);
    };
    AcceptingChannel<StreamConnection> listener;
    try {
      listener = worker.createStreamConnectionServer(new InetSocketAddress(InetAddress.getByName(host), port),
          ChannelListeners.openListenerAdapter(accepted), OptionMap.builder()
              .set(Options.WORKER_IO_THREADS, worker.getIoThreadCount())
              .set(Options.TCP_NODELAY, true)
              .set(Options.REUSE_ADDRESSES, true)
              .set(Options.BALANCING_TOKENS, 1)
              .set(Options.BALANCING_CONNECTIONS, 2)
              .set(Options.BACKLOG, 1024)
              .getMap());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
    }
    listener.resumeAccepts();
    return new HttpServer(listener, graceful);
  }

  /**
   * Answers a request whose version or body framing Undertow's parser lets through but RFC 9112
   * says to refuse, before any handler reads its body; returns whether it did. Each one closes the
   * connection: what follows on it cannot be trusted to be a request.
   */
  private static boolean refusedFraming(HttpServerExchange exchange, VersionSniffer versions, int maxHeaderLine,
      Metrics metrics) {
    int status = 0;
    String reason = null;
    String longLine = longHeaderLine(exchange, maxHeaderLine);
    String unknownVersion = versions.unsupportedVersion(exchange); // served as 1.1 by Undertow's parser
    if (unknownVersion != null || !exchange.getProtocol().toString().startsWith("HTTP/1.")) {
      // RFC 9110 §6.2, §15.6.6: a major version this server does not speak. Undertow passes
      // "HTTP/0.9" and "HTTP/2.0" on and would answer them with headers, as 1.x.
      status = StatusCodes.HTTP_VERSION_NOT_SUPPORTED;
      reason = (unknownVersion == null ? exchange.getProtocol() : unknownVersion) + " is not supported: only HTTP/1.x";
      exchange.setProtocol(Protocols.HTTP_1_1);
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
    metrics.refused(status); // before the answer: whoever got it can see it counted
    Responses.text(exchange, status, reason);
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
    return listener.getLocalAddress(InetSocketAddress.class).getPort();
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
    IoUtils.safeClose(listener);
  }
}
