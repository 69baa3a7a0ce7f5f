package io.imgcache.origin;

import io.imgcache.cache.CachedResponse;
import io.imgcache.group.Failures;
import io.imgcache.group.ObjectTooLargeException;
import io.imgcache.group.OriginLoader;
import io.imgcache.httpclient.HttpClientException;
import io.imgcache.httpclient.HttpResponse;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.metrics.Metrics;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Loads request targets from the configured origin over pooled connections. Thread-safe and
 * non-blocking. 5xx answers, timeouts and connection errors become {@link OriginException}s (they
 * are never cached); bodies over the size limit become {@link ObjectTooLargeException}s.
 */
public final class OriginClient implements OriginLoader {
  /** The Via entry this proxy adds (RFC 9110 §7.6.3). */
  public static final String VIA = "1.1 imgcache";

  private final URI origin;
  private final PooledHttpClient client;
  private final Duration timeout;
  private final long maxObjectSize;
  private final Metrics metrics;

  public OriginClient(URI origin, PooledHttpClient client, Duration timeout, long maxObjectSize, Metrics metrics) {
    this.origin = origin;
    this.client = client;
    this.timeout = timeout;
    this.maxObjectSize = maxObjectSize;
    this.metrics = metrics;
  }

  @Override
  public CompletableFuture<CachedResponse> load(String target, String forwardedFor) {
    List<String> headers = forwardedFor == null
        ? List.of("Via", VIA)
        : List.of("Via", VIA, "X-Forwarded-For", forwardedFor);
    metrics.originRequest("load");
    long start = System.nanoTime();
    return client.get(origin, target, headers, timeout, maxObjectSize)
        .handle((response, failure) -> {
          metrics.originDuration().observe((System.nanoTime() - start) / 1e9);
          if (failure != null) {
            throw translate(failure);
          }
          return toCached(response);
        });
  }

  private CachedResponse toCached(HttpResponse response) {
    if (response.status() >= 500) {
      metrics.originError("status");
      throw new OriginException(502, "origin answered " + response.status(), null);
    }
    return CachedResponse.of(response.status(), response.headers(), response.body());
  }

  private RuntimeException translate(Throwable failure) {
    Throwable cause = Failures.cause(failure);
    if (cause instanceof HttpClientException e) {
      metrics.originError(e.kind().name().toLowerCase(java.util.Locale.ROOT));
      return switch (e.kind()) {
        case TOO_LARGE -> new ObjectTooLargeException(e.getMessage());
        case TIMEOUT -> new OriginException(504, "origin timed out: " + e.getMessage(), e);
        case CONNECT -> new OriginException(502, "origin unreachable: " + e.getMessage(), e);
        case POOL_EXHAUSTED -> new OriginException(503, "origin busy: " + e.getMessage(), e);
        case IO -> new OriginException(502, "origin connection failed: " + e.getMessage(), e);
      };
    }
    metrics.originError("other");
    return new OriginException(502, "origin request failed: " + cause, cause);
  }
}
