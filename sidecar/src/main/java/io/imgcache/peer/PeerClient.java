package io.imgcache.peer;

import io.imgcache.cache.CachedResponse;
import io.imgcache.group.Failures;
import io.imgcache.group.PeerException;
import io.imgcache.group.PeerPicker;
import io.imgcache.httpclient.HttpClientException;
import io.imgcache.httpclient.HttpResponse;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.metrics.Metrics;
import io.imgcache.group.ObjectTooLargeException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Asks one peer for keys over the shared pooled client. Thread-safe and non-blocking; never
 * follows redirects (a 3xx is the origin's own answer, passed on as it is).
 */
final class PeerClient implements PeerPicker.Peer {
  private final String url;
  private final URI target;
  private final String group;
  private final PooledHttpClient client;
  private final List<String> headers;
  private final List<String> cachedOnlyHeaders;
  private final Duration timeout;
  private final Duration warmupTimeout;
  private final long maxBody;
  private final Metrics metrics;

  PeerClient(String url, String group, PooledHttpClient client, String token, Duration timeout,
      Duration warmupTimeout, long maxBody, Metrics metrics) {
    this.url = url;
    this.target = URI.create(url);
    this.group = group;
    this.client = client;
    this.headers = token.isEmpty() ? List.of() : List.of("Authorization", "Bearer " + token);
    List<String> cachedOnly = new ArrayList<>(headers);
    cachedOnly.addAll(List.of(PeerProtocol.CACHED_ONLY_HEADER.toString(), "1"));
    this.cachedOnlyHeaders = List.copyOf(cachedOnly);
    this.timeout = timeout;
    this.warmupTimeout = warmupTimeout;
    this.maxBody = maxBody;
    this.metrics = metrics;
  }

  @Override
  public String url() {
    return url;
  }

  @Override
  public CompletableFuture<CachedResponse> fetch(String key) {
    return fetchUntil(key, System.nanoTime() + timeout.toNanos());
  }

  /**
   * Fetches, borrowing again while every connection to the peer stays busy, up to {@code deadline}:
   * falling back at the first exhausted borrow would load the key a second time (a burst of new
   * keys at a node is exactly when its pool runs dry and one load per key matters most).
   */
  private CompletableFuture<CachedResponse> fetchUntil(String key, long deadline) {
    return fetch(key, headers, timeout).exceptionallyCompose(failure -> {
      boolean busy = Failures.cause(failure) instanceof PeerException e && e.getCause() instanceof HttpClientException h
          && h.kind() == HttpClientException.Kind.POOL_EXHAUSTED;
      return busy && System.nanoTime() < deadline ? fetchUntil(key, deadline) : CompletableFuture.failedFuture(failure);
    });
  }

  @Override
  public CompletableFuture<CachedResponse> fetchCached(String key) {
    return fetch(key, cachedOnlyHeaders, warmupTimeout);
  }

  private CompletableFuture<CachedResponse> fetch(String key, List<String> requestHeaders, Duration limit) {
    long start = System.nanoTime();
    return client.get(target, PeerProtocol.path(group, key), requestHeaders, limit, maxBody)
        .handle((response, failure) -> {
          metrics.peerDuration(url, System.nanoTime() - start);
          if (failure != null) {
            Throwable cause = Failures.cause(failure);
            if (cause instanceof HttpClientException e && e.kind() == HttpClientException.Kind.TOO_LARGE) {
              metrics.peerRequest(url, "too_large");
              throw new ObjectTooLargeException(e.getMessage());
            }
            boolean busy = cause instanceof HttpClientException e && e.kind() == HttpClientException.Kind.POOL_EXHAUSTED;
            metrics.peerRequest(url, busy ? "busy" : "error");
            throw new PeerException("peer " + url + " failed: " + cause.getMessage(), cause, !busy);
          }
          return answer(response);
        });
  }

  private CachedResponse answer(HttpResponse response) {
    String error = null;
    for (int i = 0; i < response.headers().size(); i += 2) {
      if (PeerProtocol.ERROR_HEADER.equalToString(response.headers().get(i))) {
        error = response.headers().get(i + 1);
      }
    }
    if (PeerProtocol.ERROR_TOO_LARGE.equals(error)) {
      metrics.peerRequest(url, "too_large");
      throw new ObjectTooLargeException("peer " + url + ": body larger than the object size limit");
    }
    if (error != null || response.status() >= 500) {
      metrics.peerRequest(url, "error");
      throw new PeerException("peer " + url + " answered " + response.status()
          + (error == null ? "" : " (" + error + ")"), null,
          blames(error));
    }
    metrics.peerRequest(url, "ok");
    return CachedResponse.of(response.status(), response.headers(), response.body());
  }

  /**
   * Whether an answer with protocol error {@code error} says the peer itself is broken. Not when
   * it merely had no cached copy (warm-up), was busy, or its origin failed: the peer is reachable
   * and its probes succeed, and counting its origin's failures made it flap in and out of every
   * ring (the chaos suite's scenario 5) — each flap moving a third of the keys.
   */
  private static boolean blames(String error) {
    return !PeerProtocol.ERROR_NOT_CACHED.equals(error) && !PeerProtocol.ERROR_BUSY.equals(error)
        && !PeerProtocol.ERROR_ORIGIN.equals(error);
  }

  @Override
  public String toString() {
    return "Peer{" + url + "}";
  }
}
