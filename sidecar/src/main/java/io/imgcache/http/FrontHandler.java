package io.imgcache.http;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.imgcache.cache.CacheControl;
import io.imgcache.cache.CachePolicy;
import io.imgcache.group.Failures;
import io.imgcache.group.Group;
import io.imgcache.group.ObjectTooLargeException;
import io.imgcache.group.Result;
import io.imgcache.group.Source;
import io.imgcache.httpclient.OpenResponse;
import io.imgcache.key.InvalidKeyException;
import io.imgcache.key.KeyPolicy;
import io.imgcache.metrics.Metrics;
import io.undertow.server.Connectors;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import io.undertow.util.Protocols;
import io.undertow.util.SameThreadExecutor;
import io.undertow.util.StatusCodes;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client-facing handler (DESIGN §1): GET and HEAD are answered through the group, everything
 * else is passed through to the origin. Fresh hits are answered on the IO thread from memory;
 * misses and revalidations wait for their load without holding any thread and are answered on
 * the exchange's IO thread.
 */
final class FrontHandler implements HttpHandler {
  private static final Logger log = LoggerFactory.getLogger(FrontHandler.class);

  private final Group group;
  private final KeyPolicy keys;
  private final Requests requests;
  private final boolean passCookies;
  private final CachePolicy clock;
  private final HttpHandler passThrough;
  private final Consumer<String> invalidate; // removes a key everywhere; must not block
  private final Duration relayTimeout;
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

  /**
   * @param passCookies {@code cache.request-cookies = pass}: requests with Cookie bypass the cache;
   *     otherwise Cookie is stripped from shared loads
   * @param relayTimeout bounds the transfer of a too-large answer handed on by its load (origin.timeout)
   */
  FrontHandler(Group group, KeyPolicy keys, boolean passCookies, CachePolicy clock, HttpHandler passThrough,
      Consumer<String> invalidate, Duration relayTimeout, Metrics metrics) {
    this.invalidate = invalidate;
    this.relayTimeout = relayTimeout;
    this.group = group;
    this.keys = keys;
    this.requests = new Requests(!passCookies);
    this.passCookies = passCookies;
    this.clock = clock;
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
    HeaderMap in = exchange.getRequestHeaders();
    HeaderValues host = in.get(Headers.HOST);
    if ((host == null && exchange.getProtocol().equals(Protocols.HTTP_1_1)) || (host != null && host.size() > 1)) {
      // RFC 9112 §3.2: exactly one Host header in an HTTP/1.1 request.
      reject(exchange, start, 400, "an HTTP/1.1 request needs exactly one Host header");
      return;
    }
    boolean head = method.equals(Methods.HEAD);
    if (!head && !method.equals(Methods.GET)) {
      invalidateAfterSuccess(exchange);
      passThrough(exchange, start);
      return;
    }
    String key;
    try {
      key = keys.keyFor(exchange.getRequestURI(), exchange.getQueryString());
    } catch (InvalidKeyException e) {
      reject(exchange, start, e.status(), e.getMessage());
      return;
    }
    if (passCookies && in.contains(Headers.COOKIE)) {
      passThrough(exchange, start);
      return;
    }
    CacheControl directives = Requests.cacheControl(in);
    Result hit = group.lookup(key, requests.varyHeaders(in), directives, in.contains(Headers.AUTHORIZATION));
    if (hit != null) {
      respond(exchange, hit, head, start);
      return;
    }
    if (tooLarge.getIfPresent(key) != null) { // looked up only on a miss: hits pay nothing for it
      passThrough(exchange, start);
      return;
    }
    CompletableFuture<Result> answer = group.get(requests.client(exchange, key));
    if (answer.isDone() && !answer.isCompletedExceptionally()) {
      respond(exchange, answer.join(), head, start); // a disk hit read on this thread
      return;
    }
    // The exchange stays open past this call; the load's completion answers it on its own IO thread.
    exchange.dispatch(SameThreadExecutor.INSTANCE, () -> answer
        .whenCompleteAsync((result, failure) -> {
          if (failure == null) {
            respond(exchange, result, head, start);
          } else {
            fail(exchange, key, head, failure, start);
          }
        }, exchange.getIoThread()));
  }

  /**
   * RFC 9111 §4.4: a non-error response to an unsafe method invalidates the stored responses for
   * its target — on every node, as a purge does.
   */
  private void invalidateAfterSuccess(HttpServerExchange exchange) {
    String key;
    try {
      key = keys.keyFor(exchange.getRequestURI(), exchange.getQueryString());
    } catch (InvalidKeyException e) {
      return; // nothing can be stored under it
    }
    exchange.addExchangeCompleteListener((ex, next) -> {
      if (ex.getStatusCode() < 400) {
        invalidate.accept(key);
      }
      next.proceed();
    });
  }

  private void respond(HttpServerExchange exchange, Result result, boolean head, long start) {
    int status = ResponseWriter.toClient(exchange, result, head, clock.now());
    metrics.request(result.source().header(), status, System.nanoTime() - start);
  }

  private void fail(HttpServerExchange exchange, String key, boolean head, Throwable failure, long start) {
    if (Failures.cause(failure) instanceof ObjectTooLargeException) {
      tooLarge.put(key, Boolean.TRUE);
      OpenResponse open = OversizedAnswer.claim(failure);
      if (open != null) {
        // The load's own answer, still arriving: streamed to this client, no second origin request.
        exchange.getResponseHeaders().put(ResponseWriter.X_CACHE, Source.PASS.header());
        exchange.addExchangeCompleteListener((ex, next) -> {
          metrics.request(Source.PASS.header(), ex.getStatusCode(), System.nanoTime() - start);
          next.proceed();
        });
        OversizedAnswer.relay(exchange, open, head, relayTimeout);
        return;
      }
      // Too large to cache, and the load's answer went to another waiter: stream it from the origin.
      Connectors.executeRootHandler(ex -> passThrough(ex, start), exchange);
      return;
    }
    Failure answer = Failure.of(failure);
    if (answer.status() == 502 && answer.reason().startsWith("load failed")) {
      log.warn("load failed unexpectedly", Failures.cause(failure));
    }
    exchange.getResponseHeaders().put(ResponseWriter.X_CACHE, Source.MISS.header());
    Responses.text(exchange, answer.status(), answer.reason());
    metrics.request(Source.MISS.header(), answer.status(), System.nanoTime() - start);
  }

  private void reject(HttpServerExchange exchange, long start, int status, String reason) {
    exchange.getResponseHeaders().put(ResponseWriter.X_CACHE, Source.PASS.header());
    Responses.text(exchange, status, reason);
    metrics.request(Source.PASS.header(), status, System.nanoTime() - start);
  }

  private void passThrough(HttpServerExchange exchange, long start) throws Exception {
    exchange.getResponseHeaders().put(ResponseWriter.X_CACHE, Source.PASS.header());
    exchange.addExchangeCompleteListener((ex, next) -> {
      metrics.request(Source.PASS.header(), ex.getStatusCode(), System.nanoTime() - start);
      next.proceed();
    });
    // When the proxy cannot reach the origin it ends the exchange with a bare 503/504: give the
    // client DESIGN §4's answer instead, 502/504 with a reason. An origin's own 5xx has started
    // the response by then and goes through as sent.
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
