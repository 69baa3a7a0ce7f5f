package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.Node;
import java.net.ServerSocket;
import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue 10, item 5: a node whose own imgfit is down still answers every key it owns, through a
 * healthy peer's imgfit (X-Groupcache-Load-For), and stores what it owns; the peer stores nothing.
 */
class OriginFailoverTest extends ClusterTest {
  @Test
  void aNodeWhoseOriginIsDownAnswersEveryNewKeyThroughAPeersOrigin() throws IOException {
    int[] ports = LocalCluster.freePorts(3);
    List<String> urls = List.of(LocalCluster.url(ports[0]), LocalCluster.url(ports[1]), LocalCluster.url(ports[2]));
    int closed;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = socket.getLocalPort();
    }
    Node a = cluster.startNode(ports[0], urls, Map.of("imgcache.origin.url", "http://127.0.0.1:" + closed,
        "imgcache.origin.connect-timeout", "300ms"));
    Node b = cluster.startNode(ports[1], urls, Map.of());
    Node c = cluster.startNode(ports[2], urls, Map.of());

    List<String> ownedByA = LocalCluster.targetsOwnedBy(a, a, "/v2/image/png/failover?i=", 6);
    List<String> ownedByB = LocalCluster.targetsOwnedBy(a, b, "/v2/image/png/failover?i=", 3);
    List<String> all = new ArrayList<>(ownedByA);
    all.addAll(ownedByB);
    for (int i = 0; i < all.size(); i++) {
      byte[] body = cluster.stub(all.get(i), 40 + i, 0);
      for (Node node : List.of(a, b, c)) {
        var response = cluster.get(node, all.get(i));
        LocalCluster.assertAnswer(body, LocalCluster.xCache(response), response);
      }
    }
    for (String target : ownedByA) {
      assertEquals(1, cluster.originRequests(target), target + ": loaded once, through a peer, for all three");
      assertTrue(a.group().holding(LocalCluster.keyOf(target)).main(), target + ": stored by its owner A");
      assertTrue(!b.group().holding(LocalCluster.keyOf(target)).main()
          && !c.group().holding(LocalCluster.keyOf(target)).main(), target + ": in no other main cache");
      assertEquals("HIT", LocalCluster.xCache(cluster.get(a, target)));
    }
    assertTrue(cluster.metric(a, "imgcache_origin_failovers_total") >= ownedByA.size());
    assertEquals(1.0, cluster.metric(b, "imgcache_peer_healthy", "peer", LocalCluster.url(a)),
        "A answered its peers all along: not held unhealthy");
  }
}
