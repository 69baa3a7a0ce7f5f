package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.imgcache.Node;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * DESIGN §1 "One hop": two nodes whose rings disagree so that each believes the other owns some
 * keys. Consistent hashing over the same member set cannot disagree, so the nodes are given
 * different {@code ring.vnodes} (a misconfiguration that really happens mid-rollout): A's ring says
 * B owns the key and B's says A. A peer request must be answered by the node that receives it.
 */
class RingDisagreementTest {
  /** Long, so that a loop or a deadlock broken only by the peer timeout is plain to see. */
  private static final Duration PEER_TIMEOUT = Duration.ofSeconds(5);
  /** Well below the peer timeout: the answer came without waiting for one. */
  private static final Duration PROMPT = Duration.ofSeconds(3);

  private static WireMockServer origin;
  private LocalCluster cluster;
  private Node a;
  private Node b;

  @BeforeAll
  static void startOrigin() {
    origin = LocalCluster.startOrigin();
  }

  @AfterAll
  static void stopOrigin() {
    origin.stop();
  }

  @BeforeEach
  void startNodes() {
    origin.resetAll();
    cluster = new LocalCluster(origin);
    int[] ports = LocalCluster.freePorts(2);
    List<String> both = List.of(LocalCluster.url(ports[0]), LocalCluster.url(ports[1]));
    a = cluster.startNode(ports[0], both, Map.of("imgcache.ring.vnodes", 160,
        "imgcache.peers.timeout", PEER_TIMEOUT.toMillis() + "ms", "imgcache.origin.timeout", "2s",
        "imgcache.origin.queue-timeout", "1s"));
    b = cluster.startNode(ports[1], both, Map.of("imgcache.ring.vnodes", 7,
        "imgcache.peers.timeout", PEER_TIMEOUT.toMillis() + "ms", "imgcache.origin.timeout", "2s",
        "imgcache.origin.queue-timeout", "1s"));
  }

  @AfterEach
  void stopNodes() {
    cluster.close();
  }

  /** Targets whose key A's ring gives to B and B's ring gives to A. */
  private List<String> disputedTargets(int count) {
    List<String> out = new ArrayList<>();
    for (int i = 0; out.size() < count; i++) {
      if (i > 100_000) {
        throw new AssertionError("the two rings never disagree");
      }
      String target = "/v2/image/png/disputed-" + i + "?w=64";
      String key = LocalCluster.keyOf(target);
      if (LocalCluster.ownerUrl(a, key).equals(LocalCluster.url(b))
          && LocalCluster.ownerUrl(b, key).equals(LocalCluster.url(a))) {
        out.add(target);
      }
    }
    return out;
  }

  @Test
  void peerRequestIsAnsweredByItsReceiverEvenWhenItsRingNamesTheSender() {
    String target = disputedTargets(1).get(0);
    byte[] body = cluster.stub(target, 31, 200);

    long start = System.nanoTime();
    HttpResponse<byte[]> response = cluster.get(a, target);
    Duration took = Duration.ofNanos(System.nanoTime() - start);

    LocalCluster.assertAnswer(body, "PEER", response);
    assertTrue(took.compareTo(PROMPT) < 0, "took " + took.toMillis() + "ms");
    assertEquals(1, cluster.originRequests(target), "answered once from the origin (B's)");
    assertEquals(1, cluster.originRequests());
    assertEquals(1.0, cluster.metric(b, "imgcache_peer_served_total"), "B answered A's peer request");
    assertEquals(0.0, cluster.metric(a, "imgcache_peer_served_total"), "B did not forward it back to A");
    assertEquals(0.0, cluster.metric(a, "imgcache_fallbacks_total"));
    String key = LocalCluster.keyOf(target);
    // B answered from its own origin, but its ring names A: neither keeps a main-cache copy, so
    // that once the rings agree again no key is in two main caches.
    assertFalse(b.group().holding(key).main(), "B's ring names A: B keeps only a hot copy");
    assertTrue(b.group().holding(key).hot(), "B keeps a hot copy");
    assertFalse(a.group().holding(key).main(), "A is no owner in its own ring: no main-cache copy");
  }

  /**
   * Regression: a peer request used to join the receiver's own fetch of the key in flight — here
   * a fetch from the sender, which was waiting for this very answer. Each node then waited for
   * the other until the peer timeout and answered FALLBACK.
   */
  @Test
  void bothNodesAskingEachOtherAtOnceNeitherLoopNorDeadlock() throws Exception {
    List<String> targets = disputedTargets(10);
    List<byte[]> bodies = new ArrayList<>();
    for (int i = 0; i < targets.size(); i++) {
      bodies.add(cluster.stub(targets.get(i), 100 + i, 300));
    }

    long start = System.nanoTime();
    List<CompletableFuture<HttpResponse<byte[]>>> responses = new ArrayList<>();
    for (String target : targets) {
      for (Node node : List.of(a, b)) {
        HttpRequest request = HttpRequest.newBuilder(LocalCluster.uri(node, target))
            .timeout(LocalCluster.REQUEST_TIMEOUT).GET().build();
        responses.add(cluster.http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()));
      }
    }
    CompletableFuture.allOf(responses.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    Duration took = Duration.ofNanos(System.nanoTime() - start);

    for (int i = 0; i < responses.size(); i++) {
      HttpResponse<byte[]> response = responses.get(i).join();
      String xCache = LocalCluster.xCache(response);
      assertEquals(200, response.statusCode(), response.request().uri().toString());
      // HIT only if the node's load for its peer finished before its own client's request came.
      assertTrue(Set.of("PEER", "HIT").contains(xCache), response.request().uri() + " answered " + xCache);
      assertArrayEquals(bodies.get(i / 2), response.body(), response.request().uri().toString());
    }
    assertTrue(took.compareTo(PROMPT) < 0, "took " + took.toMillis() + "ms: the nodes waited for each other");
    assertEquals(0.0, cluster.metric(a, "imgcache_fallbacks_total"));
    assertEquals(0.0, cluster.metric(b, "imgcache_fallbacks_total"));
    for (String target : targets) {
      // Each node answers the other's request from its own origin: with rings that disagree,
      // one load per key per cluster cannot hold, but two is the most it costs.
      int loads = cluster.originRequests(target);
      assertTrue(loads >= 1 && loads <= 2, target + " loaded " + loads + " times");
    }
  }
}
