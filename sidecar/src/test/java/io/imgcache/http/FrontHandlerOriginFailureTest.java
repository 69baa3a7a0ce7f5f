package io.imgcache.http;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.http.Fault;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Origin failures (DESIGN §4): never cached, the client gets 502/504 with a short plain-text
 * reason, the next request tries again, and the node keeps serving.
 */
class FrontHandlerOriginFailureTest extends OneNodeTest {
  private static final String GOOD = "/v2/image/png/good?w=10";

  private static byte[] stubGood() {
    byte[] body = OneNode.randomBytes(1, 3333);
    origin.stubFor(get(urlEqualTo(GOOD)).willReturn(aResponse()
        .withStatus(200).withHeader("Content-Type", "image/png").withBody(body)));
    return body;
  }

  private void assertGoodKeyServed(byte[] body) {
    HttpResponse<byte[]> response = one.get(GOOD);
    assertEquals(200, response.statusCode());
    assertArrayEquals(body, response.body());
  }

  /** A short plain-text reason, marked as not cacheable by anyone downstream. */
  private static void assertFailure(HttpResponse<byte[]> response, int status) {
    assertEquals(status, response.statusCode());
    assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"),
        () -> "Content-Type " + response.headers().map());
    String reason = new String(response.body(), StandardCharsets.UTF_8).strip();
    assertFalse(reason.isEmpty(), "a reason is given");
    assertTrue(reason.length() < 300 && !reason.contains("\n"), () -> "a short one-line reason: " + reason);
    assertEquals("no-store", response.headers().firstValue("Cache-Control").orElse(null));
  }

  @Test
  void origin500IsPassedOnAsSentAndIsNotCached() {
    origin.stubFor(get(urlEqualTo("/broken.png")).willReturn(aResponse()
        .withStatus(500).withHeader("Content-Type", "text/html").withHeader("Retry-After", "30")
        .withBody("<h1>busy</h1>")));
    byte[] good = stubGood();
    one = OneNode.start(origin, Map.of());

    for (int i = 0; i < 2; i++) {
      HttpResponse<byte[]> response = one.get("/broken.png");
      assertEquals(500, response.statusCode(), "the origin's status, not a 502");
      assertEquals("<h1>busy</h1>", new String(response.body(), StandardCharsets.UTF_8));
      assertEquals("text/html", response.headers().firstValue("Content-Type").orElse(null));
      assertEquals("30", response.headers().firstValue("Retry-After").orElse(null));
      assertEquals("MISS", response.headers().firstValue("X-Cache").orElse(null));
    }

    assertEquals(2, one.originRequestCount(), "the second request tried the origin again");
    assertGoodKeyServed(good);
  }

  @Test
  void originSlowerThanTheTimeoutGives504() {
    origin.stubFor(get(urlEqualTo("/slow.png")).willReturn(aResponse()
        .withStatus(200).withHeader("Content-Type", "image/png").withBody("late").withFixedDelay(2000)));
    byte[] good = stubGood();
    one = OneNode.start(origin, Map.of("imgcache.origin.timeout", "300ms"));

    HttpResponse<byte[]> response = one.get("/slow.png");

    // The reason says which clock ran out (no elapsed-time assertion: a busy CI machine breaks those).
    assertFailure(response, 504);
    assertTrue(new String(response.body(), StandardCharsets.UTF_8).contains("origin timed out"),
        () -> new String(response.body(), StandardCharsets.UTF_8));
    assertGoodKeyServed(good);
  }

  @Test
  void originRefusingConnectionsGives502AndTheNodeStillServes() {
    String closed = "http://127.0.0.1:" + OneNode.closedPort();
    one = OneNode.startWithOriginUrl(origin, closed, Map.of("imgcache.origin.connect-timeout", "500ms"));

    assertFailure(one.get("/anything.png"), 502);
    assertFailure(one.get("/anything.png"), 502);

    HttpResponse<byte[]> health = one.get("/_imgcache/healthz");
    assertEquals(200, health.statusCode());
    assertEquals(0, one.originRequestCount(), "the WireMock origin was not the one configured");
  }

  @Test
  void originDroppingTheConnectionGives502AndIsNotCached() {
    origin.stubFor(get(urlEqualTo("/reset.png")).willReturn(aResponse()
        .withFault(Fault.CONNECTION_RESET_BY_PEER)));
    origin.stubFor(get(urlEqualTo("/garbage.png")).willReturn(aResponse()
        .withFault(Fault.MALFORMED_RESPONSE_CHUNK)));
    byte[] good = stubGood();
    one = OneNode.start(origin, Map.of());

    assertFailure(one.get("/reset.png"), 502);
    assertFailure(one.get("/garbage.png"), 502);
    assertFailure(one.get("/garbage.png"), 502);

    assertEquals(3, one.originRequestCount());
    assertGoodKeyServed(good);
    assertGoodKeyServed(good);
    assertEquals(4, one.originRequestCount(), "the good key was loaded once");
  }
}
