package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.imgcache.Node;
import io.imgcache.group.Group;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * DESIGN §0.1 and §1: when a key's owner is down, the other nodes answer from their own origin
 * (FALLBACK) and keep no copy — not in the main cache (the Go deployment's flaw), and not in the hot
 * cache either. When the owner is back, they ask it again.
 *
 * <p>The health monitor is parked (see {@link LocalCluster}), so the dead owner stays in every ring:
 * this test is about fallback, not about the monitor re-assigning the owner's keys.
 */
class OwnerDownTest {
  private static WireMockServer origin;
  private LocalCluster cluster;

  @BeforeAll
  static void startOrigin() {
    origin = LocalCluster.startOrigin();
  }

  @AfterAll
  static void stopOrigin() {
    origin.stop();
  }

  @BeforeEach
  void resetOrigin() {
    origin.resetAll();
    cluster = new LocalCluster(origin);
  }

  @AfterEach
  void stopCluster() {
    cluster.close();
  }

  @Test
  void deadOwnersKeysFallBackUncachedAndArePeerFetchesAgainOnceItIsBack() {
    List<Node> nodes = cluster.start(3, Map.of());
    Node owner = nodes.get(0);
    List<Node> others = nodes.subList(1, 3);
    List<String> members = new ArrayList<>(nodes.get(0).cluster().snapshot().members());
    int ownerPort = owner.port();
    String ownerUrl = LocalCluster.url(owner);

    // Before: the non-owners reach the owner (and hold pooled connections to it).
    List<String> targets = LocalCluster.targetsOwnedBy(nodes.get(1), owner, "/v2/image/png/down-", 5);
    String before = targets.get(0);
    byte[] beforeBody = cluster.stub(before, 400, 0);
    for (Node other : others) {
      LocalCluster.assertAnswer(beforeBody, "PEER", cluster.get(other, before));
    }

    cluster.stop(owner);

    List<String> down = targets.subList(1, targets.size());
    List<byte[]> bodies = new ArrayList<>();
    for (int i = 0; i < down.size(); i++) {
      bodies.add(cluster.stub(down.get(i), 401 + i, 0));
    }
    for (int i = 0; i < down.size(); i++) {
      String target = down.get(i);
      String key = LocalCluster.keyOf(target);
      for (Node other : others) {
        LocalCluster.assertAnswer(bodies.get(i), "FALLBACK", cluster.get(other, target));
        assertEquals(new Group.Holding(false, false), other.group().holding(key),
            LocalCluster.url(other) + " must keep no copy of a fallback load of " + target);
        // Nothing kept, so the next request falls back again.
        LocalCluster.assertAnswer(bodies.get(i), "FALLBACK", cluster.get(other, target));
      }
      assertEquals(2 * others.size(), cluster.originRequests(target), target);
    }
    for (Node other : others) {
      assertEquals(0, cluster.cacheEntries(other, "main"), LocalCluster.url(other) + " main cache entries");
      assertEquals(2.0 * down.size(), cluster.metric(other, "imgcache_fallbacks_total"));
      assertTrue(other.cluster().snapshot().ring().members().contains(ownerUrl),
          "the owner should still be in " + LocalCluster.url(other) + "'s ring");
    }

    Node back = cluster.startNode(ownerPort, members, Map.of());
    LocalCluster.await("the restarted owner answers /_imgcache/healthz", Duration.ofSeconds(10),
        () -> cluster.get(back, "/_imgcache/healthz").statusCode() == 200);
    int originBefore = cluster.originRequests();
    for (int i = 0; i < down.size(); i++) {
      String target = down.get(i);
      for (Node other : others) {
        LocalCluster.assertAnswer(bodies.get(i), "PEER", cluster.get(other, target));
      }
      assertTrue(back.group().holding(LocalCluster.keyOf(target)).main(), "the owner keeps " + target);
    }
    assertEquals(originBefore + down.size(), cluster.originRequests(), "one load per key, by the owner");
    for (Node other : others) {
      assertEquals(0, cluster.cacheEntries(other, "main"), LocalCluster.url(other) + " main cache entries");
    }
  }
}
