package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.Node;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Issue 14, ban by prefix: {@code POST /_imgcache/ban?prefix=} removes every key under the prefix
 * — every size of an image, main and hot copies — from every member, answers what each removed,
 * wins over loads in flight, and reaches a member that did not answer at first.
 */
class BanTest extends ClusterTest {
  private static final String TOKEN = "admin-s3cret";
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void aBanRemovesEverySizeOfAnImageFromEveryMemberAndNothingElse() throws Exception {
    List<Node> nodes = cluster.start(3, Map.of("imgcache.admin.token", TOKEN));
    List<String> banned = new ArrayList<>();
    for (int w = 100; w < 110; w++) {
      banned.add("/v2/image/png/003?h=50&w=" + w);
    }
    String kept = "/v2/image/png/004?h=50&w=100";
    List<byte[]> bodies = new ArrayList<>();
    for (int i = 0; i < banned.size(); i++) {
      bodies.add(cluster.stub(banned.get(i), 300 + i, 0));
    }
    byte[] keptBody = cluster.stub(kept, 400, 0);
    for (Node node : nodes) { // the owner's main copy and a hot copy on each other node
      for (String target : banned) {
        cluster.get(node, target);
      }
      cluster.get(node, kept);
    }
    int copies = 0;
    for (Node node : nodes) {
      for (String target : banned) {
        var holding = node.group().holding(LocalCluster.keyOf(target));
        copies += (holding.main() ? 1 : 0) + (holding.hot() ? 1 : 0);
      }
    }
    assertEquals(banned.size() * 3, copies, "one main and two hot copies of each size");
    Node via = nodes.get(0);
    assertEquals(401, ban(via, "/v2/image/png/003", null).statusCode(), "the admin token is required");

    HttpResponse<String> answer = ban(via, "/v2/image/png/003", TOKEN);

    assertEquals(200, answer.statusCode(), answer.body());
    assertTrue(answer.body().contains("\"prefix\":\"/v2/image/png/003\""), answer.body());
    assertTrue(answer.body().contains("\"total\":" + copies), answer.body());
    for (Node node : nodes) {
      for (String target : banned) {
        var holding = node.group().holding(LocalCluster.keyOf(target));
        assertFalse(holding.main() || holding.hot(), target + " still held by " + LocalCluster.url(node));
      }
      assertEquals(1.0, cluster.metric(node, "imgcache_bans_total"), LocalCluster.url(node));
    }
    int keptLoads = cluster.originRequests(kept);
    for (Node node : nodes) {
      assertArrayEquals(keptBody, cluster.get(node, kept).body());
    }
    assertEquals(keptLoads, cluster.originRequests(kept), "a key outside the prefix is still cached everywhere");
    int before = cluster.originRequests(banned.get(0));
    assertArrayEquals(bodies.get(0), cluster.get(via, banned.get(0)).body());
    assertEquals(before + 1, cluster.originRequests(banned.get(0)), "a banned key is loaded again");
  }

  @Test
  void aLoadInFlightWhenTheBanComesStoresNothing() throws Exception {
    List<Node> nodes = cluster.start(1, Map.of());
    Node node = nodes.get(0);
    String target = "/v2/image/png/005?w=1";
    byte[] body = cluster.stub(target, 500, 1500);

    CompletableFuture<HttpResponse<byte[]>> slow = CompletableFuture.supplyAsync(() -> cluster.get(node, target));
    LocalCluster.await("the load to reach the origin", Duration.ofSeconds(10),
        () -> cluster.originRequests(target) == 1);
    assertEquals(200, ban(node, "/v2/image/png/005", null).statusCode());

    assertArrayEquals(body, slow.join().body(), "the waiting client still gets its answer");
    assertFalse(node.group().holding(LocalCluster.keyOf(target)).main(), "but the load began before the ban");
    cluster.get(node, target);
    assertEquals(2, cluster.originRequests(target));
  }

  @Test
  void aMemberThatDidNotAnswerGetsTheBanWhenItIsBack() throws Exception {
    int[] ports = LocalCluster.freePorts(2);
    List<String> members = List.of(LocalCluster.url(ports[0]), LocalCluster.url(ports[1]));
    Node up = cluster.startNode(ports[0], members, Map.of());

    HttpResponse<String> answer = ban(up, "/v2/image/png/006", null);
    assertEquals(200, answer.statusCode(), answer.body());
    assertTrue(answer.body().contains("\"" + members.get(1) + "\":\"error"), answer.body());

    Node late = cluster.startNode(ports[1], members, Map.of());
    LocalCluster.await("the ban to reach the member started late", Duration.ofSeconds(15),
        () -> cluster.metric(late, "imgcache_bans_total") == 1.0);
  }

  @Test
  void aBanNeedsAPrefixAndPost() throws Exception {
    Node node = cluster.start(1, Map.of()).get(0);
    assertEquals(400, ban(node, "", null).statusCode());
    assertEquals(400, ban(node, "v2/no-slash", null).statusCode());
    HttpResponse<String> get = HTTP.send(HttpRequest.newBuilder(URI.create(LocalCluster.url(node)
        + "/_imgcache/ban?prefix=/v2")).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(405, get.statusCode());
  }

  private static HttpResponse<String> ban(Node node, String prefix, String token) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(LocalCluster.url(node)
            + "/_imgcache/ban?prefix=" + URLEncoder.encode(prefix, StandardCharsets.UTF_8)))
        .timeout(Duration.ofSeconds(20))
        .POST(HttpRequest.BodyPublishers.noBody());
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
