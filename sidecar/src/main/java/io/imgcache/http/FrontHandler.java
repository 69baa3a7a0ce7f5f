package io.imgcache.http;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.imgcache.cache.CachedResponse;
import io.imgcache.group.Failures;
import io.imgcache.group.Group;
import io.imgcache.group.Result;
import io.imgcache.group.Source;
import io.imgcache.key.InvalidKeyException;
import io.imgcache.key.KeyPolicy;
import io.imgcache.metrics.Metrics;
import io.imgcache.group.ObjectTooLargeException;
import io.imgcache.origin.OriginException;
import io.undertow.server.Connectors;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.SameThreadExecutor;
import io.undertow.util.ETagUtils;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import io.undertow.util.Protocols;
import io.undertow.util.StatusCodes;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client-facing handler (DESIGN §1): GET and HEAD are answered through the group, everything
 * else is passed through to the origin. Hits are answered on the IO thread from memory; misses
 * wait for their load without holding any thread and are answered on the exchange's IO thread.
 */
final class FrontHandler implements HttpHandler {
  private static final Logger log = LoggerFactory.getLogger(FrontHandler.class);

  private final Group group;
  private final KeyPolicy keys;
  private final HttpHandler passThrough;
  private final Metrics metrics;
  /**
   * Keys whose body turned out larger than cache.max-object-size: later requests stream them
   * straight from the origin instead of first attempting a load that is cut off (a second resize).
   */
  private final Cache<String, Boolean> tooLarge = Caffeine.newBuilder()
      .maximumSize(10_000)
      .expireAfterWrite(Duration.ofMinutes(10))
      .executor(Runnable::run)
      .build();

  FrontHandler(Group group, KeyPolicy keys, HttpHandler passThrough, Metrics metrics) {
    this.group = group;
    this.keys = keys;
    this.passThrough = passThrough;
    this.metrics = metrics;
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) throws Exception {
    long start = System.nanoTime();
    HttpString method = exchange.getRequestMethod();
    if (exchange.isHostIncludedInRequestURI() || method.equals(Methods.CONNECT)) {
      reject(exchange, start, 400, "only origin-form request targets (/path?query) are accepted");
      return;
    }
    HeaderValues host = exchange.getRequestHeaders().get(Headers.HOST);
    if ((host == null && exchange.getProtocol().equals(Protocols.HTTP_1_1)) || (host != null && host.size() > 1)) {
      // RFC 9112 §3.2: exactly one Host header in an HTTP/1.1 request.
      reject(exchange, start, 400, "an HTTP/1.1 request needs exactly one Host header");
      return;
    }
    boolean head = method.equals(Methods.HEAD);
    if (!head && !method.equals(Methods.GET)) {
      passThrough(exchange, start);
      return;
    }
    String path = exchange.getRequestURI();
    String query = exchange.getQueryString();
    String key;
    try {
      key = keys.keyFor(path, query);
    } catch (InvalidKeyException e) {
      reject(exchange, start, e.status(), e.getMessage());
      return;
    }
    Result hit = group.lookup(key);
    if (hit != null) {
      respond(exchange, hit, head, start);
      return;
    }
    if (tooLarge.getIfPresent(key) != null) {
      passThrough(exchange, start);
      return;
    }
    String target = query.isEmpty() ? path : path + '?' + query;
    String client = exchange.getSourceAddress().getAddress().getHostAddress();
    // The exchange stays open past this call; the load's completion answers it on its own IO thread.
    exchange.dispatch(SameThreadExecutor.INSTANCE, () -> group.load(key, target, client)
        .whenCompleteAsync((result, failure) -> {
          if (failure == null) {
            respond(exchange, result, head, start);
          } else {
            fail(exchange, key, failure, start);
          }
        }, exchange.getIoThread()));
  }

  private void respond(HttpServerExchange exchange, Result result, boolean head, long start) {
    CachedResponse response = result.response();
    HeaderMap headers = exchange.getResponseHeaders();
    for (int i = 0; i < response.headerCount(); i++) {
      headers.add(response.httpHeaderName(i), response.headerValue(i));
    }
    headers.put(Responses.X_CACHE, result.source().header());
    int status = response.status();
    if (status == 200 && notModified(exchange, response.etag())) {
      exchange.setStatusCode(StatusCodes.NOT_MODIFIED);
      exchange.endExchange();
      metrics.request(result.source().header(), StatusCodes.NOT_MODIFIED, System.nanoTime() - start);
      return;
    }
    exchange.setStatusCode(status);
    headers.put(Headers.CONTENT_LENGTH, response.contentLength());
    if (head) {
      exchange.endExchange();
    } else {
      exchange.getResponseSender().send(response.body());
    }
    metrics.request(result.source().header(), status, System.nanoTime() - start);
  }

  /** Whether If-None-Match fails for a 200 with {@code etag} (null: none), i.e. the answer is 304. */
  private static boolean notModified(HttpServerExchange exchange, String etag) {
    String ifNoneMatch = exchange.getRequestHeaders().getFirst(Headers.IF_NONE_MATCH);
    if (ifNoneMatch == null) {
      return false;
    }
    // "*" matches any current representation (RFC 9110 §13.1.2); ETagUtils only parses quoted tags.
    if (ifNoneMatch.trim().equals("*")) {
      return true;
    }
    return etag != null && !ETagUtils.handleIfNoneMatch(ifNoneMatch, ETagUtils.parseETagList(etag), true);
  }

  private void fail(HttpServerExchange exchange, String key, Throwable failure, long start) {
    Throwable cause = Failures.cause(failure);
    if (cause instanceof ObjectTooLargeException) {
      tooLarge.put(key, Boolean.TRUE);
      // Too large to cache: stream it from the origin for this client.
      Connectors.executeRootHandler(ex -> passThrough(ex, start), exchange);
      return;
    }
    int status;
    String reason;
    if (cause instanceof OriginException e) {
      status = e.status();
      reason = e.getMessage();
    } else if (cause instanceof TimeoutException) {
      status = StatusCodes.GATEWAY_TIME_OUT;
      reason = "timed out waiting for the origin";
    } else {
      log.warn("load failed unexpectedly", cause);
      status = StatusCodes.BAD_GATEWAY;
      reason = "load failed: " + cause;
    }
    exchange.getResponseHeaders().put(Responses.X_CACHE, Source.MISS.header());
    Responses.text(exchange, status, reason);
    metrics.request(Source.MISS.header(), status, System.nanoTime() - start);
  }

  private void reject(HttpServerExchange exchange, long start, int status, String reason) {
    exchange.getResponseHeaders().put(Responses.X_CACHE, Source.PASS.header());
    Responses.text(exchange, status, reason);
    metrics.request(Source.PASS.header(), status, System.nanoTime() - start);
  }

  private void passThrough(HttpServerExchange exchange, long start) throws Exception {
    exchange.getResponseHeaders().put(Responses.X_CACHE, Source.PASS.header());
    exchange.addExchangeCompleteListener((ex, next) -> {
      metrics.request(Source.PASS.header(), ex.getStatusCode(), System.nanoTime() - start);
      next.proceed();
    });
    // When the proxy cannot reach the origin it ends the exchange with a bare 503/504: give the
    // client DESIGN §4's answer instead, 502/504 with a reason.
    exchange.addDefaultResponseListener(ex -> {
      if (ex.isResponseStarted() || ex.getStatusCode() < 500) {
        return false;
      }
      boolean timedOut = ex.getStatusCode() == StatusCodes.GATEWAY_TIME_OUT;
      metrics.originError(timedOut ? "pass_timeout" : "pass_connect");
      Responses.text(ex, timedOut ? 504 : 502, timedOut ? "origin timed out" : "origin unreachable");
      return true;
    });
    metrics.originRequest("pass");
    passThrough.handleRequest(exchange);
  }
}
