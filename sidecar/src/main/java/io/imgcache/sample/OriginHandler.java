package io.imgcache.sample;

import static java.util.concurrent.TimeUnit.NANOSECONDS;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import io.undertow.util.SameThreadExecutor;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sample origin's only handler. Every exchange ends here: refused requests are answered on
 * the IO thread at once; accepted ones wait out the delay on an IO-thread timer, then take the
 * memoised body or render it on the Undertow worker pool, and are answered from whichever thread
 * completes that. Thread-safe; never blocks the IO thread.
 */
final class OriginHandler implements HttpHandler {
  private static final Logger log = LoggerFactory.getLogger(OriginHandler.class);

  /** Go's reference time: fixed, so a response's headers are as deterministic as its body. */
  static final String LAST_MODIFIED = "Mon, 02 Jan 2006 15:04:05 GMT";

  static final String CACHE_CONTROL = "public, max-age=86400";

  /** Total body bytes memoised; at ~200 KB a body that is a few hundred distinct URLs. */
  static final long MEMO_BYTES = 64L << 20;

  private final long delayNanos;
  private final Set<Format> writable;
  private final LongAdder received = new LongAdder();
  /**
   * Rendered bodies by request. Concurrent requests for one body share one render; a failed
   * render is dropped by Caffeine, so the next request tries again. Maintenance runs on the
   * calling thread: the cache starts no threads of its own.
   */
  private final AsyncCache<SampleRequest, Body> memo =
      Caffeine.newBuilder()
          .maximumWeight(MEMO_BYTES)
          .weigher((SampleRequest request, Body body) -> body.bytes().length)
          .executor(Runnable::run)
          .buildAsync();

  OriginHandler(Duration delay, Set<Format> writable) {
    this.delayNanos = delay.toNanos();
    this.writable = Set.copyOf(writable);
  }

  /** Requests that reached this handler, refused ones included. */
  long received() {
    return received.sum();
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) {
    received.increment();
    SampleRequest request;
    try {
      request =
          SampleRequest.parse(
              exchange.getRequestMethod().toString(),
              exchange.getRequestPath(),
              exchange.getQueryParameters(),
              writable);
    } catch (RejectedException e) {
      if (e.status() == 405) {
        exchange.getResponseHeaders().put(Headers.ALLOW, "GET, HEAD");
      }
      sendText(exchange, e.status(), e.getMessage());
      return;
    }
    // Dispatched with SameThreadExecutor: the task runs on this IO thread once the handler has
    // returned, and the exchange stays open until respond() ends it. Once close() has begun,
    // executeAfter throws RejectedExecutionException and Undertow answers 503 itself.
    exchange.dispatch(
        SameThreadExecutor.INSTANCE,
        () -> {
          if (delayNanos == 0) {
            respond(exchange, request);
          } else {
            exchange
                .getIoThread()
                .executeAfter(() -> respond(exchange, request), delayNanos, NANOSECONDS);
          }
        });
  }

  /** On the IO thread: answers from the memo, or renders on the worker pool and answers then. */
  private void respond(HttpServerExchange exchange, SampleRequest request) {
    CompletableFuture<Body> body;
    try {
      body =
          memo.get(
              request,
              (key, cacheExecutor) ->
                  CompletableFuture.supplyAsync(
                      () -> Renderer.render(key), exchange.getConnection().getWorker()));
    } catch (RejectedExecutionException e) {
      // The worker pool is shutting down: close() is under way.
      sendText(exchange, 503, "shutting down");
      return;
    }
    body.whenComplete(
        (rendered, failure) -> {
          if (failure == null) {
            send(exchange, rendered);
          } else {
            Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
            log.warn("rendering {} failed", request, cause);
            sendText(exchange, 500, "rendering failed: " + cause);
          }
        });
  }

  private static void send(HttpServerExchange exchange, Body body) {
    HeaderMap headers = exchange.getResponseHeaders();
    headers.put(Headers.CONTENT_TYPE, body.contentType());
    headers.put(Headers.CONTENT_LENGTH, body.bytes().length);
    headers.put(Headers.ETAG, body.etag());
    headers.put(Headers.LAST_MODIFIED, LAST_MODIFIED);
    headers.put(Headers.CACHE_CONTROL, CACHE_CONTROL);
    if (exchange.getRequestMethod().equals(Methods.HEAD)) {
      exchange.endExchange();
    } else {
      // A new read-only wrapper per response: the memoised array is shared and never written.
      exchange.getResponseSender().send(ByteBuffer.wrap(body.bytes()).asReadOnlyBuffer());
    }
  }

  private static void sendText(HttpServerExchange exchange, int status, String reason) {
    if (exchange.isResponseStarted()) {
      exchange.endExchange();
      return;
    }
    exchange.setStatusCode(status);
    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
    exchange.getResponseSender().send(reason + "\n");
  }
}
