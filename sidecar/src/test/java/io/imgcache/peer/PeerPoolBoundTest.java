package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.Node;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * DESIGN §6 "pooled per peer (max per peer)": many concurrent clients of one non-owner never make
 * it open more than {@code peers.pool.max-per-peer} connections to an owner.
 */
class PeerPoolBoundTest extends ClusterTest {
  private static final int MAX_PER_PEER = 8;
  private static final int CLIENT_THREADS = 64;
  private static final int REQUESTS = 10_000;
  private static final int KEYS = 50;

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void tenThousandRequestsFromSixtyFourThreadsUseAtMostMaxPerPeerConnections() throws Exception {
    List<Node> nodes = cluster.start(2, Map.of(
        // No hot cache: every request through the non-owner is a peer fetch (or joins one).
        "imgcache.cache.hot-fraction", 0,
        "imgcache.peers.pool.max-per-peer", MAX_PER_PEER,
        "imgcache.peers.pool.max-idle-per-peer", MAX_PER_PEER,
        // 56 of the 64 callers wait for a connection at any time: on a loaded build machine that
        // may take longer than the 200ms default, and a borrow timeout would be a FALLBACK.
        "imgcache.peers.pool.borrow-timeout", "5s",
        "imgcache.peers.timeout", "5s",
        // peers.timeout must cover the owner's queue + connect + origin timeout (start-up checks).
        "imgcache.origin.timeout", "2s",
        "imgcache.origin.queue-timeout", "1s"));
    Node via = nodes.get(0);
    Node owner = nodes.get(1);
    List<String> targets = LocalCluster.targetsOwnedBy(via, owner, "/v2/image/png/pool-", KEYS);
    List<byte[]> bodies = new ArrayList<>();
    for (int k = 0; k < KEYS; k++) {
      bodies.add(cluster.stub(targets.get(k), 800 + k, 0));
    }

    AtomicInteger next = new AtomicInteger();
    Queue<String> failures = new ConcurrentLinkedQueue<>();
    Map<String, LongAdder> bySource = new ConcurrentHashMap<>();
    ExecutorService clients = Executors.newFixedThreadPool(CLIENT_THREADS);
    long start = System.nanoTime();
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < CLIENT_THREADS; t++) {
        done.add(clients.submit(() -> {
          for (int i; (i = next.getAndIncrement()) < REQUESTS && failures.size() < 10; ) {
            int k = i % KEYS;
            HttpResponse<byte[]> response = cluster.get(via, targets.get(k));
            String xCache = LocalCluster.xCache(response);
            bySource.computeIfAbsent(String.valueOf(xCache), x -> new LongAdder()).increment();
            // HIT-HOT although the hot cache is 0 bytes: Caffeine enforces its bound just after a
            // put, so under contention an entry may be read before it is evicted. Rare, and harmless.
            if (response.statusCode() != 200 || !("PEER".equals(xCache) || "HIT-HOT".equals(xCache))
                || !Arrays.equals(bodies.get(k), response.body())) {
              failures.add("request " + i + ": " + response.statusCode() + " X-Cache " + xCache + ", "
                  + response.body().length + " bytes");
            }
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(50, TimeUnit.SECONDS);
      }
    } finally {
      clients.shutdownNow();
    }
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

    assertTrue(failures.isEmpty(), "failures (first 10): " + failures + "; answers by X-Cache: " + bySource);
    assertEquals(REQUESTS, bySource.values().stream().mapToLong(LongAdder::sum).sum(), "answers");
    double created = cluster.metric(via, "imgcache_pool_created_connections_total",
        "pool", "peer", "target", LocalCluster.url(owner));
    assertTrue(created >= 1 && created <= MAX_PER_PEER,
        "peer connections created: " + created + " (" + REQUESTS + " requests in " + millis + "ms)");
    assertEquals(0.0, cluster.metric(via, "imgcache_fallbacks_total"));
    assertEquals(KEYS, cluster.originRequests(), "one load per key, by the owner");
    System.out.printf("%d requests through one non-owner in %d ms; %.0f peer connections; by X-Cache %s%n",
        REQUESTS, millis, created, bySource);
  }
}
