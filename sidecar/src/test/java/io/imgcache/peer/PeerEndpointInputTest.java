package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.WireMock;
import com.google.common.io.BaseEncoding;
import io.imgcache.Node;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What the peer endpoint makes of its input (DESIGN §6), over HTTP, with no token configured. */
class PeerEndpointInputTest {
  private static final BaseEncoding BASE64URL = BaseEncoding.base64Url().omitPadding();
  private static final String GROUP_PATH = PeerProtocol.PREFIX + LocalCluster.GROUP + "/";

  private static WireMockServer origin;
  private static LocalCluster cluster;
  private static List<Node> nodes;

  @BeforeAll
  static void startCluster() {
    origin = LocalCluster.startOrigin();
    cluster = new LocalCluster(origin);
    nodes = cluster.start(3, Map.of());
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

  private static String encode(String key) {
    return BASE64URL.encode(key.getBytes(StandardCharsets.UTF_8));
  }

  private HttpResponse<byte[]> assertRejected(int status, String error, String path) {
    HttpResponse<byte[]> response = cluster.get(nodes.get(0), path);
    assertEquals(status, response.statusCode(), () -> path + ": " + new String(response.body(), StandardCharsets.UTF_8));
    assertEquals(error, response.headers().firstValue("X-Groupcache-Error").orElse(null), path);
    assertEquals(0, cluster.originRequests(), "a rejected peer request loads nothing");
    return response;
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "a", // no whole byte
      "ab*c", // not in the alphabet
      "ab+c", // standard base64, not base64url
      "L2E=", // padded
      "L2E%3D", // padded, encoded
      "_w", // one byte, 0xFF: not UTF-8
  })
  void keyThatIsNotUnpaddedBase64urlOfUtf8Is400(String segment) {
    assertRejected(400, "bad-request", GROUP_PATH + segment);
  }

  @Test
  void keyLongerThanMaxLengthIs400() {
    String key = "/v2/" + "x".repeat(2048 - 3);
    assertEquals(2049, key.length());
    assertRejected(400, "bad-request", GROUP_PATH + encode(key));
  }

  @Test
  void keyOfExactlyMaxLengthIsServed() {
    String key = "/v2/" + "y".repeat(2048 - 4);
    byte[] body = cluster.stub(key, 601, 0);
    LocalCluster.assertAnswer(body, "MISS", cluster.get(nodes.get(0), GROUP_PATH + encode(key)));
    assertEquals(1, cluster.originRequests(key));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "/v2/image?w=1&h=2", // query not sorted: the nodes' key settings differ, or a forged key
      "v2/image", // not a path
      "http://evil.example/x", // absolute form: never an open proxy
      "/v2/image with space",
  })
  void keyNotInNormalFormIs400(String key) {
    assertRejected(400, "bad-request", GROUP_PATH + encode(key));
  }

  @Test
  void keyAsTwoPathSegmentsIs400() {
    assertRejected(400, "bad-request", GROUP_PATH + encode("/a") + "/" + encode("/b"));
  }

  @Test
  void unknownGroupIs404() {
    assertRejected(404, "unknown-group", PeerProtocol.PREFIX + "othergroup/" + encode("/v2/image/png/1"));
  }

  @Test
  void healthIs200AndTouchesNoOrigin() {
    HttpResponse<byte[]> response = cluster.get(nodes.get(2), PeerProtocol.HEALTH_PATH);
    assertEquals(200, response.statusCode());
    assertEquals(0, cluster.originRequests());
  }

  @Test
  void ownersOrigin404IsPassedOnThroughANonOwnerWithoutAFallbackLoad() {
    String target = "/v2/image/png/missing?w=1";
    byte[] notFound = "no such image\n".getBytes(StandardCharsets.UTF_8);
    origin.stubFor(WireMock.get(WireMock.urlEqualTo(target)).willReturn(WireMock.aResponse()
        .withStatus(404)
        .withHeader("Content-Type", "text/plain")
        .withBody(notFound)));
    Node via = LocalCluster.nonOwner(nodes, LocalCluster.keyOf(target));

    HttpResponse<byte[]> response = cluster.get(via, target);

    assertEquals(404, response.statusCode());
    assertEquals("PEER", LocalCluster.xCache(response));
    assertArrayEquals(notFound, response.body());
    assertEquals(1, cluster.originRequests(), "the owner's 404 is authoritative: no fallback load");
    assertEquals(0.0, cluster.metric(via, "imgcache_fallbacks_total"));
  }
}
