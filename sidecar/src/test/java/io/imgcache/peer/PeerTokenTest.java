package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.imgcache.Node;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** DESIGN §6 {@code peers.token}: the peer protocol wants the shared secret, and the nodes send it. */
class PeerTokenTest {
  private static WireMockServer origin;
  private static LocalCluster cluster;
  private static List<Node> nodes;

  @BeforeAll
  static void startCluster() {
    origin = LocalCluster.startOrigin();
    cluster = new LocalCluster(origin);
    nodes = cluster.start(3, Map.of("imgcache.peers.token", "s3cret"));
  }

  @AfterAll
  static void stopCluster() {
    try {
      cluster.close();
    } finally {
      origin.stop();
    }
  }

  @BeforeEach
  void resetOrigin() {
    origin.resetAll();
  }

  @Test
  void peerRequestWithoutTheTokenOrWithAWrongOneIs401AndLoadsNothing() {
    String target = "/v2/image/png/token-1?w=10";
    byte[] body = cluster.stub(target, 501, 0);
    String path = PeerProtocol.path(LocalCluster.GROUP, LocalCluster.keyOf(target));
    Node node = nodes.get(0);

    for (String[] headers : List.of(new String[0], new String[] {"Authorization", "Bearer wrong"},
        new String[] {"Authorization", "Bearer s3cret-and-more"}, new String[] {"Authorization", "Basic s3cret"})) {
      HttpResponse<byte[]> refused = cluster.get(node, path, headers);
      assertEquals(401, refused.statusCode(), "with " + List.of(headers));
      assertEquals("Bearer", refused.headers().firstValue("WWW-Authenticate").orElse(null));
      assertEquals("unauthorized", refused.headers().firstValue("X-Groupcache-Error").orElse(null));
    }
    assertEquals(0, cluster.originRequests(), "a refused peer request loads nothing");

    HttpResponse<byte[]> allowed = cluster.get(node, path, "Authorization", "Bearer s3cret");
    // The receiver answers as the owner, whatever its ring says: loaded from its origin.
    LocalCluster.assertAnswer(body, "MISS", allowed);
    assertEquals(1, cluster.originRequests(target));
  }

  @Test
  void healthNeedsNoToken() {
    HttpResponse<byte[]> response = cluster.get(nodes.get(1), PeerProtocol.HEALTH_PATH);
    assertEquals(200, response.statusCode());
    assertEquals(0, cluster.originRequests());
  }

  @Test
  void nodesSendTheTokenToEachOther() {
    String target = "/v2/image/png/token-2?w=20";
    byte[] body = cluster.stub(target, 502, 0);
    String key = LocalCluster.keyOf(target);
    Node owner = LocalCluster.owner(nodes, key);
    double servedBefore = cluster.metric(owner, "imgcache_peer_served_total");

    for (Node node : nodes) {
      if (node != owner) {
        LocalCluster.assertAnswer(body, "PEER", cluster.get(node, target));
      }
    }
    assertEquals(1, cluster.originRequests(target));
    assertEquals(servedBefore + 2, cluster.metric(owner, "imgcache_peer_served_total"), "peer requests served");
  }
}
