package io.imgcache.membership;

import static io.imgcache.membership.EtcdNodes.await;
import static io.imgcache.membership.EtcdNodes.metric;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.Node;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: with etcd membership a ban is stored in etcd under {@code etcd.bans-prefix} on a lease
 * of {@code cache.ban-lifetime}, and every member applies the bans it sees — also one that was not
 * there when the ban was given, after the node that was given it has gone.
 */
class EtcdBanTest extends EtcdNodesTest {
  private static final Map<String, Object> LIFETIME = Map.of("imgcache.cache.ban-lifetime", "40s");

  @Test
  void aBanIsStoredInEtcdAndReachesAMemberThatJoinsAfterTheNodeThatGaveItLeft() throws Exception {
    Node given = nodes.start(LIFETIME);
    Node other = nodes.start(LIFETIME);
    await("both in both rings", Duration.ofSeconds(10), () -> EtcdNodes.ring(given).size() == 2
        && EtcdNodes.ring(other).size() == 2);

    HttpResponse<String> answer = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
            EtcdNodes.url(given) + "/_imgcache/ban?prefix=%2Fv2%2Fimage%2Fpng%2F003"))
        .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, answer.statusCode(), answer.body());

    await("the ban stored in etcd", Duration.ofSeconds(10), () -> !bans().isEmpty());
    List<String> stored = bans();
    assertEquals(2, stored.size(), "one key and its value: " + stored);
    assertTrue(stored.get(0).startsWith("/imgcache2/bans/"), stored.toString());
    assertEquals("/v2/image/png/003", stored.get(1));
    long lease = nodes.leaseOf(stored.get(0));
    assertEquals(40, nodes.grantedTtlSeconds(lease), "the ban lives for cache.ban-lifetime");
    for (Node node : List.of(given, other)) {
      await("the ban applied on " + EtcdNodes.url(node), Duration.ofSeconds(10),
          () -> metric(node, "imgcache_bans_total") == 1.0);
    }

    nodes.stopInBackground(given).join(30_000);
    Node late = nodes.start(LIFETIME);
    await("the ban applied on the member that joined later", Duration.ofSeconds(10),
        () -> metric(late, "imgcache_bans_total") == 1.0);
    assertEquals(1.0, metric(other, "imgcache_bans_total"), "applied once however often it is seen");
    assertFalse(bans().isEmpty(), "still stored: it outlives the node that was given it");
  }

  private List<String> bans() {
    String out = etcd.cluster().etcdctl("get", "--prefix", "/imgcache2/bans/").checkOk().stdout().strip();
    return out.isEmpty() ? List.of() : List.of(out.split("\n"));
  }
}
