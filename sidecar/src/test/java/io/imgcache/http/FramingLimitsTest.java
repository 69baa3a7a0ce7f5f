package io.imgcache.http;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static io.imgcache.http.OneNode.ascii;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 10 item 7: a header line longer than {@code listen.max-header-line} gets 431 with the node's
 * own reason and {@code X-Cache: PASS}, counted; HTTP/2.0 on the HTTP/1 port gets 505 (or Undertow's own 400), as do
 * HTTP/3.0 and HTTP/9.9; HTTP/1.2 is
 * served as 1.1 (RFC 9112 §2.6).
 */
class FramingLimitsTest extends OneNodeTest {
  private static String request(String version, String extraHeader) {
    return "GET /v2/image/png/a?w=1 " + version + "\r\nHost: x\r\n" + extraHeader + "Connection: close\r\n\r\n";
  }

  @Test
  void aHeaderLineOverTheLimitGets431WithAReasonAndIsCounted() {
    origin.stubFor(get(anyUrl()).willReturn(aResponse().withStatus(200).withBody("ok")));
    one = OneNode.start(origin, Map.of("imgcache.listen.max-header-line", "8KiB"));

    OneNode.RawResponse refused = one.raw(ascii(request("HTTP/1.1", "X-Big: " + "b".repeat(20 * 1024) + "\r\n")));
    assertEquals(431, refused.status(), refused::toString);
    assertEquals("PASS", refused.header("X-Cache"));
    assertTrue(new String(refused.body(), UTF_8).startsWith("header line X-Big longer than 8192 bytes"),
        refused::toString);
    assertEquals(0, one.originRequestCount(), "never reached the origin");
    assertTrue(new String(one.node.metrics().text(), UTF_8).contains("imgcache_refused_requests_total{code=\"431\"} 1"));

    OneNode.RawResponse served = one.raw(ascii(request("HTTP/1.1", "X-Fits: " + "b".repeat(8000) + "\r\n")));
    assertEquals(200, served.status(), served::toString);
  }

  @Test
  void http2OnTheHttp1PortGets505AndHttp12IsServedAs11() {
    origin.stubFor(get(anyUrl()).willReturn(aResponse().withStatus(200).withBody("ok")));
    one = OneNode.start(origin, Map.of());

    // Undertow's parser refuses some HTTP/2.0 requests itself (400, before any handler); the rest
    // reach HttpServer's check and get 505.
    OneNode.RawResponse v2 = one.raw(ascii(request("HTTP/2.0", "")));
    assertTrue(v2.status() == 505 || v2.status() == 400, v2::toString);
    OneNode.RawResponse v12 = one.raw(ascii(request("HTTP/1.2", "")));
    assertEquals(200, v12.status(), v12::toString);
    assertEquals("ok", new String(v12.body(), UTF_8));
  }

  /**
   * Issue 10 item 7: Undertow's parser turns a version it does not know into HTTP/1.1, so HTTP/3.0
   * and HTTP/9.9 were served; RFC 9110 §15.6.6 and nginx answer an unsupported major version 505.
   */
  @ParameterizedTest
  @ValueSource(strings = {"HTTP/3.0", "HTTP/9.9", "HTTP/2.1"})
  void anUnsupportedMajorVersionGets505WithAReason(String version) {
    origin.stubFor(get(anyUrl()).willReturn(aResponse().withStatus(200).withBody("ok")));
    one = OneNode.start(origin, Map.of());

    OneNode.RawResponse refused = one.raw(ascii(request(version, "")));

    assertEquals(505, refused.status(), refused::toString);
    assertTrue(new String(refused.body(), UTF_8).startsWith(version + " is not supported"), refused::toString);
    assertEquals("PASS", refused.header("X-Cache"));
    assertEquals(0, one.originRequestCount(), "nothing reached the origin");
    assertTrue(new String(one.node.metrics().text(), UTF_8).contains("imgcache_refused_requests_total{code=\"505\"} 1"));
  }

  /** A header value or another request that merely looks like such a line refuses nothing. */
  @Test
  void aHeaderEndingLikeAnUnsupportedRequestLineRefusesNothing() {
    origin.stubFor(get(anyUrl()).willReturn(aResponse().withStatus(200).withBody("ok")));
    one = OneNode.start(origin, Map.of());

    OneNode.RawResponse served = one.raw(ascii(request("HTTP/1.1", "X-Note: GET /elsewhere HTTP/3.0\r\n")));

    assertEquals(200, served.status(), served::toString);
  }
}
