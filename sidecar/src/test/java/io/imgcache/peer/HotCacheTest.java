package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.Node;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** DESIGN §1 step 3: a non-owner keeps what it fetched from the owner in its hot cache. */
class HotCacheTest extends ClusterTest {
  @Test
  void keyFetchedRepeatedlyThroughANonOwnerIsServedHotWithoutFurtherPeerRequests() {
    List<Node> nodes = cluster.start(3, Map.of());
    String target = "/v2/image/png/hot?h=10&w=10";
    String key = LocalCluster.keyOf(target);
    byte[] body = cluster.stub(target, 701, 0);
    Node owner = LocalCluster.owner(nodes, key);
    Node via = LocalCluster.nonOwner(nodes, key);
    String ownerUrl = LocalCluster.url(owner);

    LocalCluster.assertAnswer(body, "PEER", cluster.get(via, target));
    assertEquals(1.0, cluster.metric(owner, "imgcache_peer_served_total"));
    for (int i = 0; i < 20; i++) {
      LocalCluster.assertAnswer(body, "HIT-HOT", cluster.get(via, target));
    }

    assertEquals(1.0, cluster.metric(owner, "imgcache_peer_served_total"), "peer requests the owner answered");
    assertEquals(1.0, cluster.metric(via, "imgcache_peer_requests_total", "peer", ownerUrl, "outcome", "ok"));
    assertEquals(1, cluster.originRequests());
    assertTrue(via.group().holding(key).hot());
    assertFalse(via.group().holding(key).main());
    assertEquals(1, cluster.cacheEntries(via, "hot"));
    assertEquals(0, cluster.cacheEntries(via, "main"));
  }
}
