package io.imgcache.peer;

import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.imgcache.Node;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Keys that broke the Go deployment (DESIGN §0.3, §6): each is fetched through a node that does not
 * own it, so it crosses the peer protocol. Every one must come back as the owner's answer ({@code
 * 200}, {@code X-Cache: PEER}, the origin's exact bytes) — never a 3xx — and the origin must have
 * seen exactly the client's request target, once.
 *
 * <p>The targets are in normal form (query parameters sorted), so the key, the target the owner
 * loads and the client's target are the same string.
 */
class PeerKeyRegressionTest {
  private static WireMockServer origin;
  private static LocalCluster cluster;
  private static List<Node> nodes;
  private static final AtomicLong seeds = new AtomicLong(7000);

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

  @Test
  void leadingSlashKeyDoesNotBecomeA301() {
    assertPeerFetchIsExact("/v2/image/png/003?h=200&w=850");
  }

  @Test
  void doubleSlashInPathDoesNotBecomeA301() {
    assertPeerFetchIsExact("//v2//image/png//004?h=200&w=850");
  }

  @Test
  void encodedSlashStaysEncoded() {
    assertPeerFetchIsExact("/v2/image%2Fpng/005?src=a%2Fb%2F");
  }

  @Test
  void doubleEncodedSlashIsNotDecodedOnce() {
    assertPeerFetchIsExact("/v2/image%252Fpng/006?src=a%252Fb");
  }

  @Test
  void encodedSpaceSurvives() {
    assertPeerFetchIsExact("/v2/image/my%20photo.png?caption=a%20b");
  }

  @Test
  void plusIsNotTurnedIntoASpace() {
    assertPeerFetchIsExact("/v2/image/a+b.png?text=c+d");
  }

  @Test
  void encodedHashIsNotAFragment() {
    assertPeerFetchIsExact("/v2/image/%23007.png?tag=%23x");
  }

  @Test
  void encodedQuestionMarkAmpersandAndEqualsInsideValuesSurvive() {
    assertPeerFetchIsExact("/v2/image/png/008?a=x%3Fy%26z%3Dw&b=%26&c=%3D%3F");
  }

  @Test
  void percentEncodedNonAsciiUtf8Survives() {
    assertPeerFetchIsExact("/v2/image/%C3%A9t%C3%A9/%E6%97%A5%E6%9C%AC.png?q=%F0%9F%98%80");
  }

  @Test
  void twoThousandCharacterKeySurvives() {
    String prefix = "/v2/image/png/009?pad=";
    String target = prefix + "x".repeat(2000 - prefix.length());
    assertEquals(2000, target.length());
    assertPeerFetchIsExact(target);
  }

  private void assertPeerFetchIsExact(String target) {
    String key = LocalCluster.keyOf(target);
    assertEquals(target, key, "the test target should be in normal form");
    byte[] body = cluster.stub(target, seeds.incrementAndGet(), 0);
    Node owner = LocalCluster.owner(nodes, key);
    Node via = LocalCluster.nonOwner(nodes, key);
    assertNotEquals(LocalCluster.url(owner), LocalCluster.url(via));

    int originRequestsBefore = cluster.originRequests();

    HttpResponse<byte[]> response = cluster.get(via, target);

    assertFalse(response.statusCode() >= 300 && response.statusCode() < 400,
        () -> "redirected: " + response.statusCode() + " " + response.headers().map());
    LocalCluster.assertAnswer(body, "PEER", response);
    origin.verify(1, getRequestedFor(urlEqualTo(target)));
    assertEquals(originRequestsBefore + 1, cluster.originRequests(), "the origin saw one request in all");
    assertTrue(owner.group().holding(key).main(), "the owner keeps the key in its main cache");
    assertFalse(via.group().holding(key).main(), "the non-owner keeps no main-cache copy");

    // Again through the same node: its hot copy; through the third node: the owner's main cache.
    LocalCluster.assertAnswer(body, "HIT-HOT", cluster.get(via, target));
    Node third = nodes.stream().filter(n -> n != owner && n != via).findFirst().orElseThrow();
    LocalCluster.assertAnswer(body, "PEER", cluster.get(third, target));
    LocalCluster.assertAnswer(body, "HIT", cluster.get(owner, target));
    origin.verify(1, getRequestedFor(urlEqualTo(target)));
  }
}
