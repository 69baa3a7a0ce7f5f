package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.Node;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** DESIGN §1 "One load per key per cluster": three nodes, one origin, concurrent clients on every node. */
class OneLoadPerKeyClusterTest extends ClusterTest {
  private static final Set<String> NOT_A_FALLBACK = Set.of("MISS", "PEER", "HIT", "HIT-HOT");

  @Test
  void threeHundredConcurrentRequestsForTwentyUncachedKeysOverThreeNodesCauseTwentyOriginRequests()
      throws Exception {
    List<Node> nodes = cluster.start(3, Map.of());
    int keys = 20;
    List<String> targets = new ArrayList<>();
    List<byte[]> bodies = new ArrayList<>();
    for (int k = 0; k < keys; k++) {
      String target = "/v2/image/png/" + k + "?h=200&w=" + (100 + k);
      targets.add(target);
      bodies.add(cluster.stub(target, 1000 + k, 200));
    }
    Set<String> owners = new java.util.TreeSet<>();
    targets.forEach(t -> owners.add(LocalCluster.ownerUrl(nodes.get(0), LocalCluster.keyOf(t))));
    assertTrue(owners.size() >= 2, "the keys should spread over the nodes, owners were " + owners);

    List<CompletableFuture<HttpResponse<byte[]>>> responses = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      Node node = nodes.get(i % nodes.size());
      HttpRequest request = HttpRequest.newBuilder(LocalCluster.uri(node, targets.get(i % keys)))
          .timeout(LocalCluster.REQUEST_TIMEOUT).GET().build();
      responses.add(cluster.http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()));
    }
    CompletableFuture.allOf(responses.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);

    Map<String, Integer> bySource = new TreeMap<>();
    for (int i = 0; i < responses.size(); i++) {
      HttpResponse<byte[]> response = responses.get(i).join();
      String xCache = LocalCluster.xCache(response);
      bySource.merge(String.valueOf(xCache), 1, Integer::sum);
      assertEquals(200, response.statusCode(), "request " + i);
      assertTrue(NOT_A_FALLBACK.contains(xCache), "request " + i + " answered X-Cache " + xCache);
      assertArrayEquals(bodies.get(i % keys), response.body(), "request " + i + " (" + xCache + ")");
    }
    assertEquals(keys, cluster.originRequests(), "origin requests; answers by X-Cache: " + bySource);
    for (String target : targets) {
      assertEquals(1, cluster.originRequests(target), target);
    }
    // Only each key's owner keeps it in its main cache.
    for (Node node : nodes) {
      long owned = targets.stream()
          .filter(t -> LocalCluster.ownerUrl(node, LocalCluster.keyOf(t)).equals(LocalCluster.url(node))).count();
      assertEquals(owned, cluster.cacheEntries(node, "main"), LocalCluster.url(node) + " main cache entries");
    }
  }
}
