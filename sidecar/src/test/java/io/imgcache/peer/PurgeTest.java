package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.Node;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * PURGE and DELETE /_imgcache/cache remove a key from its owner's main cache and from every
 * node's hot cache, answer what each member removed, and demand the admin token.
 */
class PurgeTest extends ClusterTest {
  private static final String TOKEN = "admin-s3cret";
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"PURGE", "DELETE"})
  void purgeRemovesTheOwnersCopyAndEveryHotCopy(String method) throws Exception {
    List<Node> nodes = cluster.start(3, Map.of("imgcache.admin.token", TOKEN));
    String target = "/v2/image/png/purge?h=10&w=10";
    String key = LocalCluster.keyOf(target);
    byte[] body = cluster.stub(target, 4242, 0);
    Node owner = LocalCluster.owner(nodes, key);
    List<Node> others = nodes.stream().filter(n -> n != owner).toList();
    for (Node other : others) {
      LocalCluster.assertAnswer(body, "PEER", cluster.get(other, target)); // a hot copy on each
    }
    assertTrue(owner.group().holding(key).main());
    others.forEach(n -> assertTrue(n.group().holding(key).hot()));

    Node via = others.get(0);
    assertEquals(401, send(via, method, target, null).statusCode(), "no token");
    assertEquals(401, send(via, method, target, "wrong").statusCode(), "wrong token");
    assertTrue(owner.group().holding(key).main(), "a refused purge removes nothing");

    HttpResponse<String> answer = send(via, method, target, TOKEN);
    assertEquals(200, answer.statusCode(), answer.body());
    assertTrue(answer.body().contains("\"key\":\"" + key + "\""), answer.body());
    assertTrue(answer.body().contains("\"total\":3"), "owner's main copy + two hot copies: " + answer.body());
    for (Node node : nodes) {
      assertTrue(answer.body().contains("\"" + LocalCluster.url(node) + "\":1"), answer.body());
      assertFalse(node.group().holding(key).main(), LocalCluster.url(node));
      assertFalse(node.group().holding(key).hot(), LocalCluster.url(node));
    }

    int before = cluster.originRequests(target);
    LocalCluster.assertAnswer(body, "PEER", cluster.get(via, target));
    assertEquals(before + 1, cluster.originRequests(target), "after a purge the owner loads the key again");
  }

  private HttpResponse<String> send(Node node, String method, String target, String token) throws Exception {
    URI uri = method.equals("PURGE")
        ? LocalCluster.uri(node, target)
        : LocalCluster.uri(node, "/_imgcache/cache?key=" + URLEncoder.encode(target, StandardCharsets.UTF_8));
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).method(method, HttpRequest.BodyPublishers.noBody())
        .timeout(LocalCluster.REQUEST_TIMEOUT);
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return cluster.http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
