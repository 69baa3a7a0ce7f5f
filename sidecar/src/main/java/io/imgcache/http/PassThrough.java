package io.imgcache.http;

import io.imgcache.httpclient.HopByHop;
import io.imgcache.group.Failures;
import io.imgcache.httpclient.HttpClientException;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.metrics.Metrics;
import io.imgcache.origin.OriginClient;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.SameThreadExecutor;
import io.undertow.util.StatusCodes;
import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;

/**
 * Streams a request to the origin and the answer back (DESIGN §4 "Pass-through") over a connection
 * of the origin client's pool, so that loads and pass-through share one connection budget and one
 * wait queue. Non-blocking: the exchange waits for its connection without holding a thread, and
 * bodies are pumped by {@link PassThroughExchange} between the two IO threads involved.
 *
 * <p>Answers of its own, all plain text with {@code X-Cache: PASS} (set by the caller): 503 when
 * the queue is full or the wait for a connection expired, 502 when the origin cannot be reached or
 * the connection breaks before a response, 504 when no response came within {@code timeout}.
 * A request body that does not arrive whole never reaches the origin as complete: the upstream
 * connection is closed mid-body instead.
 */
final class PassThrough implements HttpHandler {
  /** Hop-by-hop request headers (RFC 9110 §7.6.1) and the ones this proxy sets itself. */
  private static final Set<String> NOT_FORWARDED = Set.of("connection", "keep-alive", "transfer-encoding", "te",
      "upgrade", "trailer", "proxy-connection", "proxy-authenticate", "proxy-authorization", "host",
      "content-length", "expect", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port");

  private final PooledHttpClient client;
  private final URI origin;
  private final Duration timeout;
  private final Metrics metrics;

  /**
   * @param timeout for the whole upstream exchange, once a connection is held (origin.timeout)
   */
  PassThrough(PooledHttpClient client, URI origin, Duration timeout, Metrics metrics) {
    this.client = client;
    this.origin = origin;
    this.timeout = timeout;
    this.metrics = metrics;
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) {
    // The exchange stays open past this call; the lease's completion goes on on its IO thread.
    exchange.dispatch(SameThreadExecutor.INSTANCE, () -> client.lease(origin).whenComplete((lease, failure) ->
        exchange.getIoThread().execute(() -> {
          if (failure != null) {
            refuse(exchange, failure);
          } else if (!exchange.getConnection().isOpen()) {
            // The client went away while queued: the connection goes back unused.
            lease.connection().getIoThread().execute(() -> lease.release(true));
            exchange.endExchange();
          } else {
            new PassThroughExchange(exchange, lease, requestHeaders(exchange), timeout, metrics).start();
          }
        })));
  }

  private void refuse(HttpServerExchange exchange, Throwable failure) {
    Throwable cause = Failures.cause(failure);
    int status = StatusCodes.BAD_GATEWAY;
    String reason = "origin unreachable: " + cause.getMessage();
    if (cause instanceof HttpClientException e && e.kind() == HttpClientException.Kind.POOL_EXHAUSTED) {
      status = StatusCodes.SERVICE_UNAVAILABLE;
      reason = "origin busy: " + cause.getMessage();
      metrics.originError("pass_busy");
    } else {
      metrics.originError("pass_connect");
    }
    Responses.text(exchange, status, reason);
  }

  /**
   * What the origin gets: the client's end-to-end headers, the body framing it used, Host naming
   * the origin, and Via / X-Forwarded-* appended (the Undertow client adds X-Forwarded-Proto).
   */
  private HeaderMap requestHeaders(HttpServerExchange exchange) {
    HeaderMap in = exchange.getRequestHeaders();
    Set<String> named = HopByHop.namedIn(in);
    HeaderMap out = new HeaderMap();
    for (HeaderValues values : in) {
      String lower = values.getHeaderName().toString().toLowerCase(Locale.ROOT);
      if (!NOT_FORWARDED.contains(lower) && !named.contains(lower)) {
        out.addAll(values.getHeaderName(), values);
      }
    }
    out.put(Headers.HOST, origin.getAuthority());
    if (in.contains(Headers.TRANSFER_ENCODING)) {
      // HttpServer refuses every coding but a final chunked: the body goes on chunked.
      out.put(Headers.TRANSFER_ENCODING, Headers.CHUNKED.toString());
    } else if (in.contains(Headers.CONTENT_LENGTH)) {
      out.put(Headers.CONTENT_LENGTH, in.getFirst(Headers.CONTENT_LENGTH));
    }
    append(out, Headers.VIA, OriginClient.VIA);
    append(out, Headers.X_FORWARDED_FOR, exchange.getSourceAddress().getAddress().getHostAddress());
    String host = in.getFirst(Headers.HOST);
    if (host != null) {
      out.put(Headers.X_FORWARDED_HOST, host);
    }
    out.put(Headers.X_FORWARDED_PORT, exchange.getDestinationAddress().getPort());
    return out;
  }

  private static void append(HeaderMap headers, HttpString name, String value) {
    java.util.Collection<String> existing = headers.remove(name);
    headers.put(name, existing == null || existing.isEmpty() ? value : String.join(", ", existing) + ", " + value);
  }
}
