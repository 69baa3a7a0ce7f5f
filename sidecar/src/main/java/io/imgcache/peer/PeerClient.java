package io.imgcache.peer;

import io.imgcache.cache.CachePolicy;
import io.imgcache.cache.CachedResponse;
import io.imgcache.group.Request;
import io.imgcache.group.Failures;
import io.imgcache.group.PeerException;
import io.imgcache.group.PeerPicker;
import io.imgcache.httpclient.HttpClientException;
import io.imgcache.httpclient.HttpResponse;
import io.imgcache.httpclient.OpenResponse;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.metrics.Metrics;
import io.imgcache.group.ObjectTooLargeException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

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
  private final List<String> loadForHeaders;
  private final Duration timeout;
  private final Duration warmupTimeout;
  private final long maxBody;
  private final CachePolicy policy;
  private final Metrics metrics;
  /** Answers not yet given; removed when they complete. */
  private final Set<CompletableFuture<CachedResponse>> inFlight = ConcurrentHashMap.newKeySet();

  PeerClient(String url, String self, String group, PooledHttpClient client, String token, Duration timeout,
      Duration warmupTimeout, long maxBody, CachePolicy policy, Metrics metrics) {
    this.policy = policy;
    this.url = url;
    this.target = URI.create(url);
    this.group = group;
    this.client = client;
    this.headers = token.isEmpty() ? List.of() : List.of("Authorization", "Bearer " + token);
    List<String> cachedOnly = new ArrayList<>(headers);
    cachedOnly.addAll(List.of(PeerProtocol.CACHED_ONLY_HEADER.toString(), "1"));
    this.cachedOnlyHeaders = List.copyOf(cachedOnly);
    List<String> loadFor = new ArrayList<>(headers);
    loadFor.addAll(List.of(PeerProtocol.LOAD_FOR_HEADER.toString(), self));
    this.loadForHeaders = List.copyOf(loadFor);
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
  public CompletableFuture<CachedResponse> fetch(Request request) {
    return fetchUntil(request, System.nanoTime() + timeout.toNanos());
  }

  /**
   * Fetches, borrowing again while every connection to the peer stays busy, up to {@code deadline}:
   * falling back at the first exhausted borrow would load the key a second time (a burst of new
   * keys at a node is exactly when its pool runs dry and one load per key matters most).
   */
  private CompletableFuture<CachedResponse> fetchUntil(Request request, long deadline) {
    return fetch(request, headers, timeout).exceptionallyCompose(failure -> {
      boolean busy = Failures.cause(failure) instanceof PeerException e && e.getCause() instanceof HttpClientException h
          && h.kind() == HttpClientException.Kind.POOL_EXHAUSTED;
      return busy && System.nanoTime() < deadline ? fetchUntil(request, deadline) : CompletableFuture.failedFuture(failure);
    });
  }

  @Override
  public CompletableFuture<CachedResponse> fetchCached(Request request) {
    return fetch(request, cachedOnlyHeaders, warmupTimeout);
  }

  @Override
  public CompletableFuture<CachedResponse> loadFor(Request request) {
    return fetch(request, loadForHeaders, timeout);
  }

  @Override
  public void abandonInFlight() {
    PeerException left = new PeerException("peer " + url + " left the ring", null, false);
    for (CompletableFuture<CachedResponse> answer : List.copyOf(inFlight)) {
      answer.completeExceptionally(left); // the exchange itself ends at its own timeout
    }
  }

  /** Sends the client's forwarded headers, then the protocol's own (token, cached-only). */
  private CompletableFuture<CachedResponse> fetch(Request request, List<String> protocolHeaders, Duration limit) {
    CompletableFuture<CachedResponse> answer = exchange(request, protocolHeaders, limit);
    if (!answer.isDone()) {
      inFlight.add(answer);
      answer.whenComplete((r, e) -> inFlight.remove(answer));
    }
    return answer;
  }

  private CompletableFuture<CachedResponse> exchange(Request request, List<String> protocolHeaders, Duration limit) {
    long start = System.nanoTime();
    List<String> requestHeaders = new ArrayList<>(request.headers().size() + protocolHeaders.size());
    requestHeaders.addAll(request.headers());
    requestHeaders.addAll(protocolHeaders);
    long sent = policy.now();
    return client.get(target, PeerProtocol.path(group, request.key()), requestHeaders, limit, maxBody)
        .handle((response, failure) -> {
          metrics.peerDuration(url, System.nanoTime() - start);
          if (failure != null) {
            Throwable cause = Failures.cause(failure);
            if (cause instanceof HttpClientException e && e.kind() == HttpClientException.Kind.TOO_LARGE) {
              metrics.peerRequest(url, "too_large");
              // The owner streams what it cannot cache (its origin's answer): hand that on.
              OpenResponse open = e.open() == null ? null : e.open().withHeaders(originHeaders(e.open().headers()));
              throw new ObjectTooLargeException("peer " + url + ": " + e.getMessage(), open);
            }
            boolean busy = cause instanceof HttpClientException e && e.kind() == HttpClientException.Kind.POOL_EXHAUSTED;
            metrics.peerRequest(url, busy ? "busy" : "error");
            throw new PeerException("peer " + url + " failed: " + cause.getMessage(), cause, !busy);
          }
          return answer(response, sent);
        });
  }

  private CachedResponse answer(HttpResponse response, long sent) {
    String error = null;
    long age = -1;
    long lifetime = -1;
    for (int i = 0; i < response.headers().size(); i += 2) {
      String name = response.headers().get(i);
      String value = response.headers().get(i + 1);
      if (PeerProtocol.ERROR_HEADER.equalToString(name)) {
        error = value;
      } else if (PeerProtocol.AGE_HEADER.equalToString(name)) {
        age = PeerProtocol.parseLifetime(value);
      } else if (PeerProtocol.LIFETIME_HEADER.equalToString(name)) {
        lifetime = PeerProtocol.parseLifetime(value);
      }
    }
    List<String> origin = originHeaders(response.headers());
    if (error == null && (age < 0 || lifetime < 0)) {
      // Not the origin's answer (a draining server's bare 503, something else on the port).
      error = "no-metadata";
    }
    if (PeerProtocol.ERROR_TOO_LARGE.equals(error)) {
      metrics.peerRequest(url, "too_large");
      throw new ObjectTooLargeException("peer " + url + ": body larger than the object size limit");
    }
    if (error != null) {
      // A warm-up question the previous owner had no copy for is an answer, not a failure.
      metrics.peerRequest(url, PeerProtocol.ERROR_NOT_CACHED.equals(error) ? "not_cached" : "error");
      throw new PeerException("peer " + url + " answered " + response.status()
          + (error == null ? "" : " (" + error + ")"), null,
          blames(error));
    }
    metrics.peerRequest(url, "ok");
    return policy.response(response.status(), origin, response.body(), sent, policy.now(),
        new CachePolicy.Upstream(age, lifetime));
  }

  /** The origin's headers in an owner's answer: without the protocol's own and the owner's Age, Via, X-Cache. */
  private static List<String> originHeaders(List<String> answer) {
    List<String> origin = new ArrayList<>(answer.size());
    for (int i = 0; i < answer.size(); i += 2) {
      String name = answer.get(i);
      if (!PeerProtocol.isProtocolHeader(name) && !name.equalsIgnoreCase("X-Cache")
          && !name.equalsIgnoreCase("Age") && !name.equalsIgnoreCase("Via")) {
        origin.add(name);
        origin.add(answer.get(i + 1));
      }
    }
    return origin;
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
