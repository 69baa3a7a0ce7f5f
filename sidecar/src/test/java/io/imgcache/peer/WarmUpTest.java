package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.Node;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * DESIGN §5 warm-up: after a node joins, it asks a key's previous owner for its copy before loading
 * the key from its origin. Static membership is fixed for a node's life, so the join is simulated
 * the way etcd's watch would report it: A and B run as a two-node cluster, C starts knowing all
 * three, and A's and B's member lists are then replaced through {@code Cluster.setMembers}.
 */
class WarmUpTest extends ClusterTest {
  private static final int KEYS = 200;

  @Test
  void joiningNodeTakesItsKeysFromTheirPreviousOwnersNotFromTheOrigin() {
    int[] ports = LocalCluster.freePorts(3);
    String urlA = LocalCluster.url(ports[0]);
    String urlB = LocalCluster.url(ports[1]);
    String urlC = LocalCluster.url(ports[2]);
    Node a = cluster.startNode(ports[0], List.of(urlA, urlB), Map.of());
    Node b = cluster.startNode(ports[1], List.of(urlA, urlB), Map.of());

    List<String> targets = new ArrayList<>();
    List<byte[]> bodies = new ArrayList<>();
    for (int k = 0; k < KEYS; k++) {
      String target = "/v2/image/png/warm-" + k + "?w=" + k;
      targets.add(target);
      bodies.add(cluster.stub(target, 2000 + k, 0));
    }
    for (int k = 0; k < KEYS; k++) {
      HttpResponse<byte[]> response = cluster.get(k % 2 == 0 ? a : b, targets.get(k));
      assertEquals(200, response.statusCode());
      assertArrayEquals(bodies.get(k), response.body());
    }
    assertEquals(KEYS, cluster.originRequests(), "the two-node cluster is warm");

    Node c = cluster.startNode(ports[2], List.of(urlA, urlB, urlC), Map.of());
    a.cluster().setMembers(List.of(urlA, urlB, urlC));
    b.cluster().setMembers(List.of(urlA, urlB, urlC));

    List<Integer> ownedByC = new ArrayList<>();
    for (int k = 0; k < KEYS; k++) {
      String key = LocalCluster.keyOf(targets.get(k));
      if (LocalCluster.ownerUrl(c, key).equals(urlC)) {
        assertEquals(urlC, LocalCluster.ownerUrl(a, key));
        ownedByC.add(k);
      }
    }
    assertTrue(ownedByC.size() > KEYS / 5, "C should own about a third of the keys, owns " + ownedByC.size());

    for (int k : ownedByC) {
      HttpResponse<byte[]> response = cluster.get(c, targets.get(k));
      LocalCluster.assertAnswer(bodies.get(k), "MISS", response);
      assertTrue(c.group().holding(LocalCluster.keyOf(targets.get(k))).main(), "C keeps what it now owns");
    }
    assertEquals(KEYS, cluster.originRequests(), ownedByC.size() + " keys C now owns came from the origin, "
        + "not from their previous owners");

    // The rest of the cluster sees C as the owner and gets C's copy (or its own demoted hot copy).
    for (int k : ownedByC) {
      for (Node other : List.of(a, b)) {
        HttpResponse<byte[]> response = cluster.get(other, targets.get(k));
        assertTrue(Set.of("PEER", "HIT-HOT").contains(LocalCluster.xCache(response)),
            "X-Cache " + LocalCluster.xCache(response));
        assertArrayEquals(bodies.get(k), response.body());
      }
    }
    assertEquals(KEYS, cluster.originRequests());
  }

  /**
   * Regression: a freshly started node asks a key's previous owner for its copy first, and the
   * previous owner's "not cached" answer was counted as a failed fetch ({@code outcome="error"}):
   * every new cluster showed peer errors.
   */
  @Test
  void warmUpQuestionsThePreviousOwnerHadNoCopyForAreNotPeerErrors() {
    List<Node> nodes = cluster.start(3, Map.of());
    Node owner = nodes.get(0);
    String target = LocalCluster.targetsOwnedBy(owner, owner, "/v2/image/png/cold?i=", 1).get(0);
    LocalCluster.assertAnswer(cluster.stub(target, 77, 0), "MISS", cluster.get(owner, target));

    assertEquals(1.0, cluster.metric(owner, "imgcache_peer_requests_total", "outcome", "not_cached"),
        "the warm-up question was asked and answered");
    assertEquals(0.0, cluster.metric(owner, "imgcache_peer_requests_total", "outcome", "error"));
  }
}
