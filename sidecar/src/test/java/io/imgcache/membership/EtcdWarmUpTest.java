package io.imgcache.membership;

import static io.imgcache.membership.EtcdNodes.await;
import static io.imgcache.membership.EtcdNodes.metric;
import static io.imgcache.membership.EtcdNodes.ring;
import static io.imgcache.membership.EtcdNodes.url;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.Node;
import io.imgcache.key.KeyPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * DESIGN §5 warm-up with real etcd membership: a node that joins a warm cluster takes the keys it now
 * owns from their previous owners, not from its origin, and afterwards only owners keep keys in a
 * main cache.
 */
class EtcdWarmUpTest extends EtcdNodesTest {
  private static final int KEYS = 300;
  /** The nodes' key policy with the reference defaults, to compute the keys the nodes compute. */
  private static final KeyPolicy KEY_POLICY = new KeyPolicy(true, List.of(), 2048);

  @Test
  void joiningNodeTakesItsKeysFromPreviousOwnersAndOnlyOwnersKeepMainCopies() {
    List<Node> cluster = new ArrayList<>(List.of(nodes.start(Map.of()), nodes.start(Map.of()),
        nodes.start(Map.of())));
    await("three nodes in every ring", Duration.ofSeconds(10),
        () -> cluster.stream().allMatch(n -> ring(n).equals(urls(cluster))));

    List<String> targets = new ArrayList<>();
    List<byte[]> bodies = new ArrayList<>();
    long before = origin.requestCount();
    for (int k = 0; k < KEYS; k++) {
      String target = "/v2/image/png/warm-" + k + "?w=" + (16 + k % 40) + "&h=16";
      targets.add(target);
      bodies.add(nodes.body(url(cluster.get(k % 3)) + target));
    }
    assertEquals(KEYS, origin.requestCount() - before, "each key loaded once: the cluster is warm");

    Node joining = nodes.start(Map.of());
    cluster.add(joining);
    await("the fourth node in every ring", Duration.ofSeconds(10),
        () -> cluster.stream().allMatch(n -> ring(n).equals(urls(cluster))));
    List<Integer> moved = new ArrayList<>();
    for (int k = 0; k < KEYS; k++) {
      if (owner(joining, targets.get(k)).equals(url(joining))) {
        moved.add(k);
      }
    }
    assertTrue(moved.size() > KEYS / 8, "the new node should own about a quarter of the keys, owns " + moved.size());

    long originBefore = origin.requestCount();
    double loadsBefore = metric(joining, "imgcache_origin_requests_total", "kind", "load");
    for (int k = 0; k < KEYS; k++) {
      assertArrayEquals(bodies.get(k), nodes.body(url(joining) + targets.get(k)), targets.get(k));
    }
    long originLoads = origin.requestCount() - originBefore;
    double joiningLoads = metric(joining, "imgcache_origin_requests_total", "kind", "load") - loadsBefore;
    System.out.printf("warm-up: after a fourth node joined, %d of %d keys moved to it; requesting all %d"
            + " through it cost %d origin loads (%.0f by the new node)%n",
        moved.size(), KEYS, KEYS, originLoads, joiningLoads);
    assertTrue(originLoads <= moved.size() * 0.05,
        originLoads + " origin loads for " + moved.size() + " moved keys: more than 5 %");

    // Only owners keep a key in a main cache: the previous owners demote what moved (asynchronously).
    Duration settled = await("every key in exactly one main cache, its owner's", Duration.ofSeconds(10),
        () -> mainCopiesWrong(cluster, targets).isEmpty());
    System.out.printf("warm-up: every key in its owner's main cache only (confirmed within %d ms)%n",
        settled.toMillis());
  }

  /** Targets that are not held in exactly one main cache, their owner's (per /_imgcache/cache). */
  private List<String> mainCopiesWrong(List<Node> cluster, List<String> targets) {
    List<String> wrong = new ArrayList<>();
    for (String target : targets) {
      String owner = owner(cluster.get(0), target);
      List<String> holders = new ArrayList<>();
      for (Node n : cluster) {
        if (nodes.holding(n, target)[0]) {
          holders.add(url(n));
        }
      }
      if (!holders.equals(List.of(owner))) {
        wrong.add(target + " main in " + holders + ", owner " + owner);
      }
    }
    return wrong;
  }

  private static String owner(Node asSeenBy, String target) {
    int q = target.indexOf('?');
    String key = q < 0 ? KEY_POLICY.keyFor(target, null)
        : KEY_POLICY.keyFor(target.substring(0, q), target.substring(q + 1));
    return asSeenBy.cluster().snapshot().ring().owner(key);
  }

  private static Set<String> urls(List<Node> nodes) {
    return nodes.stream().map(EtcdNodes::url).collect(Collectors.toSet());
  }
}
