package io.imgcache.origin;

import io.imgcache.cache.CachePolicy;
import io.imgcache.cache.CachedResponse;
import io.imgcache.group.Failures;
import io.imgcache.group.ObjectTooLargeException;
import io.imgcache.group.OriginException;
import io.imgcache.group.OriginLoader;
import io.imgcache.group.Request;
import io.imgcache.httpclient.HttpClientException;
import io.imgcache.httpclient.HttpResponse;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.metrics.Metrics;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

/**
 * Loads request targets from the configured origin over pooled connections. Thread-safe and
 * non-blocking. An answer of any status is a response (a 500 is passed on as sent, and the cache
 * policy decides it is not stored); only no answer — timeouts and connection errors — becomes an
 * {@link OriginException}; bodies over the size limit become {@link ObjectTooLargeException}s.
 */
public final class OriginClient implements OriginLoader {
  /** The Via entry this proxy adds (RFC 9110 §7.6.3). */
  public static final String VIA = "1.1 imgcache";

  private final URI origin;
  private final PooledHttpClient client;
  private final Duration timeout;
  private final long maxObjectSize;
  private final CachePolicy policy;
  private final Metrics metrics;

  public OriginClient(URI origin, PooledHttpClient client, Duration timeout, long maxObjectSize, CachePolicy policy,
      Metrics metrics) {
    this.origin = origin;
    this.client = client;
    this.timeout = timeout;
    this.maxObjectSize = maxObjectSize;
    this.policy = policy;
    this.metrics = metrics;
  }

  @Override
  public CompletableFuture<CachedResponse> load(Request request) {
    long sent = policy.now();
    return send(request, List.of()).thenApply(response ->
        policy.response(response.status(), response.headers(), response.body(), sent, policy.now(), null));
  }

  @Override
  public CompletableFuture<Revalidation> revalidate(Request request, CachedResponse stored) {
    List<String> conditions = new ArrayList<>(4);
    if (stored.etag() != null) {
      conditions.add("If-None-Match");
      conditions.add(stored.etag());
    }
    if (stored.lastModified() != null) {
      conditions.add("If-Modified-Since");
      conditions.add(stored.lastModified());
    }
    long sent = policy.now();
    return send(request, conditions).thenApply(response -> {
      long received = policy.now();
      if (response.status() == 304) {
        return new Revalidation(policy.refreshed(stored, response.headers(), sent, received), true);
      }
      return new Revalidation(
          policy.response(response.status(), response.headers(), response.body(), sent, received, null), false);
    });
  }

  private CompletableFuture<HttpResponse> send(Request request, List<String> extra) {
    List<String> headers = new ArrayList<>(request.headers().size() + extra.size() + 2);
    headers.addAll(request.headers());
    headers.addAll(extra);
    headers.add("Via");
    headers.add(VIA);
    metrics.originRequest("load");
    long start = System.nanoTime();
    return client.get(origin, request.target(), headers, timeout, maxObjectSize)
        .handle((response, failure) -> {
          metrics.originDuration().observe((System.nanoTime() - start) / 1e9);
          if (failure != null) {
            throw translate(failure);
          }
          if (response.status() >= 500) {
            metrics.originError("status");
          }
          return response;
        });
  }

  private RuntimeException translate(Throwable failure) {
    Throwable cause = Failures.cause(failure);
    if (cause instanceof HttpClientException e) {
      metrics.originError(e.kind().name().toLowerCase(Locale.ROOT));
      return switch (e.kind()) {
        case TOO_LARGE -> new ObjectTooLargeException(e.getMessage(), e.open());
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
