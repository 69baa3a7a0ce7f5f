package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.client.WireMock;
import io.imgcache.Node;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 10 item 4 across nodes: an object over cache.max-object-size asked through a non-owner is
 * loaded once by its owner, which streams its origin's answer to the asking node, which streams it
 * to its client — one origin request for the first client request, as for every later one.
 */
class TooLargeThroughPeerTest extends ClusterTest {
  private static final int BIG = 1 << 20;

  @ParameterizedTest(name = "Content-Length known: {0}")
  @ValueSource(booleans = {true, false})
  void theFirstRequestThroughANonOwnerCostsOneOriginRequest(boolean contentLength) {
    List<Node> nodes = cluster.start(3, Map.of("imgcache.cache.max-object-size", "64KiB"));
    String target = "/v2/image/png/huge?w=8000";
    byte[] body = LocalCluster.randomBytes(88, BIG);
    ResponseDefinitionBuilder response = WireMock.aResponse().withStatus(200)
        .withHeader("Content-Type", "image/png").withHeader("ETag", "\"huge\"").withBody(body);
    if (contentLength) {
      response.withHeader("Content-Length", String.valueOf(BIG));
    }
    origin.stubFor(WireMock.get(WireMock.urlEqualTo(target)).willReturn(response));
    String key = LocalCluster.keyOf(target);
    Node owner = LocalCluster.owner(nodes, key);
    Node via = LocalCluster.nonOwner(nodes, key);

    HttpResponse<byte[]> first = cluster.get(via, target);
    LocalCluster.assertAnswer(body, "PASS", first);
    assertEquals("\"huge\"", first.headers().firstValue("ETag").orElse(null));
    assertFalse(first.headers().map().keySet().stream().anyMatch(PeerProtocol::isProtocolHeader),
        () -> "no protocol header reaches the client: " + first.headers().map());
    assertEquals(1, cluster.originRequests(target), "the first request through a non-owner: one origin request");

    LocalCluster.assertAnswer(body, "PASS", cluster.get(via, target));
    assertEquals(2, cluster.originRequests(target), "a known too-large key is passed through directly");
    LocalCluster.assertAnswer(body, "PASS", cluster.get(owner, target));
    assertEquals(3, cluster.originRequests(target), "through its owner too");
    for (Node node : nodes) {
      assertFalse(node.group().holding(key).main() || node.group().holding(key).hot(), "cached nowhere");
    }
  }
}
