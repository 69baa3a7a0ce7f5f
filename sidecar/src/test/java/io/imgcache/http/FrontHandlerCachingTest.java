package io.imgcache.http;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static io.imgcache.http.OneNode.ascii;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What one node caches and how it answers from the cache (DESIGN §1, §4): exact bytes and headers
 * on MISS and HIT, what is not stored, negative caching, HEAD, conditional requests, metrics.
 */
class FrontHandlerCachingTest extends OneNodeTest {
  /** In canonical form (sorted query): what every load sends the origin. */
  private static final String PNG = "/v2/image/png/003?h=200&type=.webp&w=850";
  private static final String ETAG = "\"5f3a-850x200\"";
  private static final String LAST_MODIFIED = "Tue, 14 Jan 2025 10:00:00 GMT";
  private static final String CACHE_CONTROL = "public, max-age=86400";
  private static final String EXPIRES = "Wed, 15 Jan 2025 10:00:00 GMT";

  private OneNode node() {
    return node(Map.of());
  }

  private OneNode node(Map<String, Object> overrides) {
    one = OneNode.start(origin, overrides);
    return one;
  }

  private static void stubImage(String url, byte[] body) {
    origin.stubFor(get(urlEqualTo(url)).willReturn(aResponse()
        .withStatus(200)
        .withHeader("Content-Type", "image/webp")
        .withHeader("ETag", ETAG)
        .withHeader("Last-Modified", LAST_MODIFIED)
        .withHeader("Cache-Control", CACHE_CONTROL)
        .withHeader("Expires", EXPIRES)
        .withBody(body)));
  }

  private static void assertImage(HttpResponse<byte[]> response, byte[] body, String xCache) {
    assertEquals(200, response.statusCode(), () -> "status; headers " + response.headers().map());
    assertEquals(xCache, response.headers().firstValue("X-Cache").orElse(null), "X-Cache");
    assertArrayEquals(body, response.body(), "body bytes");
    assertEquals(String.valueOf(body.length), response.headers().firstValue("Content-Length").orElse(null));
    assertEquals("image/webp", response.headers().firstValue("Content-Type").orElse(null));
    assertEquals(ETAG, response.headers().firstValue("ETag").orElse(null));
    assertEquals(LAST_MODIFIED, response.headers().firstValue("Last-Modified").orElse(null));
    assertEquals(CACHE_CONTROL, response.headers().firstValue("Cache-Control").orElse(null));
    assertEquals(EXPIRES, response.headers().firstValue("Expires").orElse(null));
  }

  @Test
  void missThenHitGiveTheOriginsExactBytesAndHeadersAfterOneLoad() {
    byte[] body = OneNode.randomBytes(3, 150_001);
    stubImage(PNG, body);
    OneNode one = node();

    assertImage(one.get(PNG), body, "MISS");
    assertImage(one.get(PNG), body, "HIT");

    List<LoggedRequest> seen = one.originRequests();
    assertEquals(1, seen.size(), "origin requests");
    LoggedRequest request = seen.get(0);
    assertEquals("GET", request.getMethod().getName());
    assertEquals(PNG, request.getUrl(), "the origin gets the canonical target");
    assertEquals("1.1 imgcache", request.getHeader("Via"));
    assertEquals("127.0.0.1", request.getHeader("X-Forwarded-For"));
  }

  @Test
  void everyLoadSendsTheOriginTheCanonicalTargetSoStoredBytesNeverDependOnTheClientsOrder() {
    byte[] body = OneNode.randomBytes(4, 10_000);
    String unsorted = "/v2/image/png/003?w=850&type=.webp&h=200";
    String canonical = "/v2/image/png/003?h=200&type=.webp&w=850";
    stubImage(canonical, body);
    OneNode one = node();

    assertImage(one.get(unsorted), body, "MISS");
    assertEquals(canonical, one.originRequests().get(0).getUrl());
    // Same parameters in another order: the same key (cache.key.sort-query defaults to on).
    assertImage(one.get("/v2/image/png/003?h=200&w=850&type=.webp"), body, "HIT");
    assertEquals(1, one.originRequestCount());
  }

  @Test
  void hopByHopHeadersFromTheOriginAreNotForwarded() {
    // private: not storable, so every end-to-end header goes through and only hop-by-hop ones drop.
    origin.stubFor(get(urlEqualTo("/hop")).willReturn(aResponse()
        .withStatus(200)
        .withHeader("Content-Type", "image/png")
        .withHeader("Cache-Control", "private")
        .withHeader("Connection", "x-foo")
        .withHeader("X-Foo", "only-for-this-hop")
        .withHeader("Keep-Alive", "timeout=5")
        .withHeader("X-End-To-End", "kept")
        .withBody("hop")));
    OneNode one = node();

    OneNode.RawResponse response = one.raw(ascii("GET /hop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));

    assertEquals(200, response.status(), response::toString);
    assertEquals("hop", new String(response.body(), StandardCharsets.UTF_8));
    assertEquals("kept", response.header("X-End-To-End"), response::toString);
    assertNull(response.header("X-Foo"), response::toString);
    assertNull(response.header("Keep-Alive"), response::toString);
    String connection = response.header("Connection");
    assertTrue(connection == null || !connection.toLowerCase().contains("x-foo"), response::toString);
  }

  @Test
  void hopByHopHeadersAreNotStoredWithACachedBody() {
    byte[] body = OneNode.randomBytes(5, 1000);
    origin.stubFor(get(urlEqualTo("/hop-cached")).willReturn(aResponse()
        .withStatus(200)
        .withHeader("Content-Type", "image/png")
        .withHeader("Connection", "x-foo")
        .withHeader("X-Foo", "only-for-this-hop")
        .withHeader("Keep-Alive", "timeout=5")
        .withBody(body)));
    OneNode one = node();
    byte[] request = ascii("GET /hop-cached HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

    for (String expected : List.of("MISS", "HIT")) {
      OneNode.RawResponse response = one.raw(request);
      assertEquals(200, response.status(), response::toString);
      assertEquals(expected, response.header("X-Cache"));
      assertArrayEquals(body, response.body());
      assertNull(response.header("X-Foo"), response::toString);
      assertNull(response.header("Keep-Alive"), response::toString);
    }
    assertEquals(1, one.originRequestCount());
  }

  @ParameterizedTest
  @ValueSource(strings = {"no-store", "private", "private, max-age=60", "public, no-store"})
  void cacheControlForbiddingStorageIsNotCached(String cacheControl) {
    byte[] body = OneNode.randomBytes(6, 2048);
    origin.stubFor(get(urlEqualTo("/personal.png")).willReturn(aResponse()
        .withStatus(200)
        .withHeader("Content-Type", "image/png")
        .withHeader("Cache-Control", cacheControl)
        .withBody(body)));
    OneNode one = node();

    // The first request learns the response is not shareable; later ones go straight to the origin.
    for (String expected : List.of("MISS", "PASS")) {
      HttpResponse<byte[]> response = one.get("/personal.png");
      assertEquals(200, response.statusCode());
      assertArrayEquals(body, response.body());
      assertEquals(expected, response.headers().firstValue("X-Cache").orElse(null));
      assertEquals(cacheControl, response.headers().firstValue("Cache-Control").orElse(null));
    }
    assertEquals(2, one.originRequestCount(), "each request goes to the origin");
  }

  @Test
  void notFoundIsNotCachedWhenNegativeTtlIsZero() {
    origin.stubFor(get(urlEqualTo("/missing.png")).willReturn(aResponse()
        .withStatus(404).withHeader("Content-Type", "text/plain").withBody("no such image")));
    OneNode one = node(Map.of("imgcache.cache.negative-ttl", "0s"));

    for (int i = 0; i < 2; i++) {
      HttpResponse<byte[]> response = one.get("/missing.png");
      assertEquals(404, response.statusCode());
      assertEquals("no such image", new String(response.body(), StandardCharsets.UTF_8));
      assertEquals("MISS", response.headers().firstValue("X-Cache").orElse(null));
    }
    assertEquals(2, one.originRequestCount());
  }

  @Test
  void notFoundIsCachedForTheNegativeTtl() {
    origin.stubFor(get(urlEqualTo("/missing.png")).willReturn(aResponse()
        .withStatus(404).withHeader("Content-Type", "text/plain").withBody("no such image")));
    OneNode one = node(Map.of("imgcache.cache.negative-ttl", "10s"));

    HttpResponse<byte[]> first = one.get("/missing.png");
    HttpResponse<byte[]> second = one.get("/missing.png");

    assertEquals(404, first.statusCode());
    assertEquals("MISS", first.headers().firstValue("X-Cache").orElse(null));
    assertEquals(404, second.statusCode());
    assertEquals("HIT", second.headers().firstValue("X-Cache").orElse(null));
    assertEquals("no such image", new String(second.body(), StandardCharsets.UTF_8));
    assertEquals("text/plain", second.headers().firstValue("Content-Type").orElse(null));
    assertEquals(1, one.originRequestCount());
  }

  @Test
  void headIsAnsweredWithoutBodyButWithLengthAndHeadersAndTheOriginGetsGet() {
    byte[] body = OneNode.randomBytes(7, 4321);
    stubImage("/head.webp", body);
    OneNode one = node();
    byte[] head = ascii("HEAD /head.webp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

    for (String expected : List.of("MISS", "HIT")) {
      OneNode.RawResponse response = one.raw(head);
      assertEquals(200, response.status(), response::toString);
      assertEquals(expected, response.header("X-Cache"));
      assertEquals(0, response.body().length, response::toString);
      assertEquals("4321", response.header("Content-Length"), response::toString);
      assertEquals("image/webp", response.header("Content-Type"));
      assertEquals(ETAG, response.header("ETag"));
      assertEquals(LAST_MODIFIED, response.header("Last-Modified"));
    }
    assertEquals(1, one.originRequestCount());
    assertEquals(1, origin.findAll(getRequestedFor(urlEqualTo("/head.webp"))).size(), "the origin got a GET");
    // A GET after the HEADs is answered from the same entry, with the body.
    assertImage(one.get("/head.webp"), body, "HIT");
  }

  @Test
  void ifNoneMatchWithTheCachedEtagGets304WithoutBody() {
    byte[] body = OneNode.randomBytes(8, 5000);
    stubImage("/cond.webp", body);
    OneNode one = node();
    assertImage(one.get("/cond.webp"), body, "MISS");

    OneNode.RawResponse notModified = one.raw(ascii(
        "GET /cond.webp HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + ETAG + "\r\nConnection: close\r\n\r\n"));
    assertEquals(304, notModified.status(), notModified::toString);
    assertEquals(0, notModified.body().length, notModified::toString);
    assertEquals("HIT", notModified.header("X-Cache"));
    assertEquals(ETAG, notModified.header("ETag"));

    HttpResponse<byte[]> other = one.get("/cond.webp", "If-None-Match", "\"something-else\"");
    assertImage(other, body, "HIT");

    HttpResponse<byte[]> listed = one.get("/cond.webp", "If-None-Match", "\"a\", " + ETAG);
    assertEquals(304, listed.statusCode(), "an ETag in a list matches too");
    assertEquals(0, listed.body().length);
    assertEquals(1, one.originRequestCount());
  }

  /** Undertow's ETagUtils only parses quoted tags, so "*" never matched and got a full 200. */
  @Test
  void ifNoneMatchStarGets304ForACachedRepresentation() {
    byte[] body = OneNode.randomBytes(11, 500);
    stubImage("/star.webp", body);
    OneNode one = node();
    assertImage(one.get("/star.webp"), body, "MISS");

    HttpResponse<byte[]> star = one.get("/star.webp", "If-None-Match", "*");

    assertEquals(304, star.statusCode());
    assertEquals(0, star.body().length);
  }

  @Test
  void metricsCountMissAndHitAndStatsShowOneMainEntry() {
    byte[] body = OneNode.randomBytes(9, 3000);
    stubImage("/metered.webp", body);
    OneNode one = node();
    assertImage(one.get("/metered.webp"), body, "MISS");
    assertImage(one.get("/metered.webp"), body, "HIT");

    String metrics = one.text("/_imgcache/metrics");
    assertEquals(1.0, sample(metrics, "imgcache_requests_total{cache=\"MISS\",code=\"2xx\"}"), metrics);
    assertEquals(1.0, sample(metrics, "imgcache_requests_total{cache=\"HIT\",code=\"2xx\"}"), metrics);
    assertEquals(1.0, sample(metrics, "imgcache_origin_requests_total{kind=\"load\"}"), metrics);
    assertEquals(1.0, sample(metrics, "imgcache_cache_entries{cache=\"main\"}"), metrics);
    assertFalse(metrics.contains("cache=\"PASS\",code="), "no pass-through was counted: " + metrics);

    HttpResponse<byte[]> stats = one.get("/_imgcache/stats");
    assertEquals(200, stats.statusCode());
    assertTrue(stats.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
    String json = new String(stats.body(), StandardCharsets.UTF_8);
    assertTrue(json.startsWith("{") && json.endsWith("}"), json);
    Matcher entries = Pattern.compile(
        "\"imgcache_cache_entries\":\\[[^\\]]*\\{\"labels\":\\{\"cache\":\"main\"},\"value\":(\\d+)}").matcher(json);
    assertTrue(entries.find(), json);
    assertEquals("1", entries.group(1), json);
    Matcher hits = Pattern.compile(
        "\"imgcache_requests_total\":\\[[^\\]]*\\{\"labels\":\\{\"cache\":\"HIT\",\"code\":\"2xx\"},\"value\":(\\d+)}")
        .matcher(json);
    assertTrue(hits.find(), json);
    assertEquals("1", hits.group(1), json);
  }

  /** The value of the sample {@code series} (name and labels exactly as exposed), or fails. */
  private static double sample(String exposition, String series) {
    for (String line : exposition.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).trim().split(" ")[0]);
      }
    }
    throw new AssertionError("no sample " + series);
  }

  @Test
  void aCachedEntryIsServedWithoutTheOrigin() {
    byte[] body = OneNode.randomBytes(10, 777);
    stubImage("/offline.webp", body);
    OneNode one = node();
    assertImage(one.get("/offline.webp"), body, "MISS");

    origin.resetAll(); // the origin now answers 404 to everything
    assertImage(one.get("/offline.webp"), body, "HIT");
    assertEquals(0, one.originRequestCount());
    assertNotNull(one.node.group().peek(io.imgcache.group.Request.of("/offline.webp")));
    assertEquals(0, origin.findAll(getRequestedFor(urlPathEqualTo("/offline.webp"))).size());
  }
}
