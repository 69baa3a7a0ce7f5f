package io.imgcache.http;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * RFC 9110/9111 rules seen from an HTTP client of one node: what a stored response answers
 * conditional and range requests with, Age, revalidation with the origin, Vary, and that a
 * response meant for one client reaches no other. Each test is named after its rule.
 */
class SharedCacheHttpTest extends OneNodeTest {
  private static final String ETAG = "\"v1\"";
  private static final String LAST_MODIFIED = "Tue, 01 Dec 2026 10:00:00 GMT";

  private byte[] stubImage(String target, String cacheControl) {
    byte[] body = OneNode.randomBytes(target.hashCode(), 1000);
    origin.stubFor(get(urlEqualTo(target)).willReturn(aResponse().withStatus(200)
        .withHeader("Content-Type", "image/png").withHeader("ETag", ETAG)
        .withHeader("Last-Modified", LAST_MODIFIED).withHeader("Cache-Control", cacheControl).withBody(body)));
    return body;
  }

  private static String header(HttpResponse<?> response, String name) {
    return response.headers().firstValue(name).orElse(null);
  }

  @Test
  void rfc9111_5_1_everyAnswerFromStorageCarriesAgeAndAFreshLoadNone() {
    stubImage("/age.png", "max-age=600");
    one = OneNode.start(origin, Map.of());
    HttpResponse<byte[]> miss = one.get("/age.png");
    HttpResponse<byte[]> hit = one.get("/age.png");
    assertEquals("MISS", header(miss, "X-Cache"));
    assertNull(header(miss, "Age"), "the origin made this answer just now");
    assertEquals("HIT", header(hit, "X-Cache"));
    assertNotNull(header(hit, "Age"));
    assertTrue(Long.parseLong(header(hit, "Age")) >= 0);
  }

  @Test
  void rfc9110_13_1_2_ifNoneMatchOnAStoredResponseAnswers304WithItsValidatorsAndCaching() {
    stubImage("/inm.png", "max-age=600");
    one = OneNode.start(origin, Map.of());
    one.get("/inm.png");
    for (String tags : List.of(ETAG, "\"other\", " + ETAG, "W/" + ETAG, "*")) {
      HttpResponse<byte[]> answer = one.get("/inm.png", "If-None-Match", tags);
      assertEquals(304, answer.statusCode(), tags);
      assertEquals(ETAG, header(answer, "ETag"));
      assertEquals("max-age=600", header(answer, "Cache-Control"));
      assertNotNull(header(answer, "Age"));
      assertEquals(0, answer.body().length);
    }
    assertEquals(200, one.get("/inm.png", "If-None-Match", "\"other\"").statusCode());
    assertEquals(1, one.originRequestCount(), "conditionals were answered from storage");
  }

  @Test
  void rfc9110_13_1_3_ifModifiedSinceOnAStoredResponse() {
    stubImage("/ims.png", "max-age=600");
    one = OneNode.start(origin, Map.of());
    one.get("/ims.png");
    assertEquals(304, one.get("/ims.png", "If-Modified-Since", LAST_MODIFIED).statusCode());
    assertEquals(304, one.get("/ims.png", "If-Modified-Since", "Wed, 02 Dec 2026 10:00:00 GMT").statusCode());
    assertEquals(200, one.get("/ims.png", "If-Modified-Since", "Mon, 30 Nov 2026 10:00:00 GMT").statusCode());
  }

  @Test
  void rfc9111_4_aConditionalRequestOnAMissLoadsTheFullObjectAndTheOriginGetsNoConditions() {
    stubImage("/cond-miss.png", "max-age=600");
    one = OneNode.start(origin, Map.of());
    HttpResponse<byte[]> answer = one.get("/cond-miss.png", "If-None-Match", ETAG, "Range", "bytes=0-9");
    assertEquals(304, answer.statusCode());
    LoggedRequest seen = one.originRequests().get(0);
    assertNull(seen.getHeader("If-None-Match"));
    assertNull(seen.getHeader("Range"));
    assertEquals(200, one.get("/cond-miss.png").statusCode());
    assertEquals(1, one.originRequestCount());
  }

  @Test
  void rfc9110_14_singleByteRangesAnswer206AndUnsatisfiableOnes416() {
    byte[] body = stubImage("/range.png", "max-age=600");
    one = OneNode.start(origin, Map.of());
    one.get("/range.png");

    HttpResponse<byte[]> first = one.get("/range.png", "Range", "bytes=10-19");
    assertEquals(206, first.statusCode());
    assertEquals("bytes 10-19/1000", header(first, "Content-Range"));
    assertArrayEquals(Arrays.copyOfRange(body, 10, 20), first.body());

    HttpResponse<byte[]> suffix = one.get("/range.png", "Range", "bytes=-5");
    assertEquals(206, suffix.statusCode());
    assertArrayEquals(Arrays.copyOfRange(body, 995, 1000), suffix.body());

    HttpResponse<byte[]> unsatisfiable = one.get("/range.png", "Range", "bytes=5000-");
    assertEquals(416, unsatisfiable.statusCode());
    assertEquals("bytes */1000", header(unsatisfiable, "Content-Range"));

    HttpResponse<byte[]> several = one.get("/range.png", "Range", "bytes=0-1,5-6");
    assertEquals(200, several.statusCode(), "several ranges: the whole representation is fine");
    assertArrayEquals(body, several.body());

    HttpResponse<byte[]> staleIfRange = one.get("/range.png", "Range", "bytes=0-1", "If-Range", "\"old\"");
    assertEquals(200, staleIfRange.statusCode(), "If-Range names another representation: the whole one");
    assertEquals(1, one.originRequestCount());
  }

  @Test
  void rfc9111_4_3_aStaleResponseIsRevalidatedAnd304RefreshesIt() {
    byte[] body = OneNode.randomBytes(9, 500);
    origin.stubFor(get(urlEqualTo("/reval.png")).withHeader("If-None-Match", absent()).willReturn(aResponse()
        .withStatus(200).withHeader("Content-Type", "image/png").withHeader("ETag", ETAG)
        .withHeader("Cache-Control", "max-age=0").withHeader("X-Version", "1").withBody(body)));
    origin.stubFor(get(urlEqualTo("/reval.png")).withHeader("If-None-Match", equalTo(ETAG)).willReturn(aResponse()
        .withStatus(304).withHeader("ETag", ETAG).withHeader("Cache-Control", "max-age=0")
        .withHeader("X-Version", "2")));
    one = OneNode.start(origin, Map.of());

    assertEquals("MISS", header(one.get("/reval.png"), "X-Cache"));
    HttpResponse<byte[]> revalidated = one.get("/reval.png");
    assertEquals(200, revalidated.statusCode());
    assertEquals("REVALIDATED", header(revalidated, "X-Cache"));
    assertArrayEquals(body, revalidated.body(), "the stored body, not the empty 304");
    assertEquals("2", header(revalidated, "X-Version"), "the 304's headers replace the stored ones");
    assertEquals(1, origin.findAll(getRequestedFor(urlEqualTo("/reval.png"))
        .withHeader("If-None-Match", equalTo(ETAG))).size());
  }

  @Test
  void rfc9111_5_2_1_4_requestNoCacheRevalidatesAFreshResponse() {
    stubImage("/nocache.png", "max-age=600");
    one = OneNode.start(origin, Map.of());
    one.get("/nocache.png");
    assertEquals("HIT", header(one.get("/nocache.png"), "X-Cache"));
    one.get("/nocache.png", "Cache-Control", "no-cache");
    assertEquals(2, one.originRequestCount(), "no-cache went to the origin");
  }

  @Test
  void rfc9111_4_1_varyAcceptSelectsByTheImageFormatsTheClientAccepts() {
    origin.stubFor(get(urlEqualTo("/vary.img")).withHeader("Accept", absent()).willReturn(aResponse()
        .withStatus(200).withHeader("Content-Type", "image/png").withHeader("Vary", "Accept")
        .withHeader("Cache-Control", "max-age=600").withBody("png")));
    origin.stubFor(get(urlEqualTo("/vary.img")).withHeader("Accept", equalTo("image/webp,*/*")).willReturn(aResponse()
        .withStatus(200).withHeader("Content-Type", "image/webp").withHeader("Vary", "Accept")
        .withHeader("Cache-Control", "max-age=600").withBody("webp")));
    one = OneNode.start(origin, Map.of());

    assertEquals("webp", new String(one.get("/vary.img", "Accept", "image/webp,*/*").body()));
    assertEquals("png", new String(one.get("/vary.img").body()), "another variant: loaded, not the webp one");
    HttpResponse<byte[]> again = one.get("/vary.img", "Accept", "image/webp;q=0.9, text/html");
    assertEquals("webp", new String(again.body()), "the same formats accepted: the same variant");
    assertEquals("HIT", header(again, "X-Cache"));
    assertEquals("png", new String(one.get("/vary.img").body()));
    assertEquals(2, one.originRequestCount());
  }

  @Test
  void rfc9111_4_4_aSuccessfulUnsafeRequestInvalidatesTheTarget() {
    stubImage("/edited.png", "max-age=600");
    origin.stubFor(com.github.tomakehurst.wiremock.client.WireMock.post(urlEqualTo("/edited.png"))
        .willReturn(aResponse().withStatus(204)));
    one = OneNode.start(origin, Map.of());
    one.get("/edited.png");
    assertEquals("HIT", header(one.get("/edited.png"), "X-Cache"));
    HttpResponse<byte[]> post = one.send(one.request("/edited.png")
        .POST(HttpRequest.BodyPublishers.ofString("new")).build());
    assertEquals(204, post.statusCode());
    OneNode.await("the purge after the POST", java.time.Duration.ofSeconds(10),
        () -> one.node.group().peek(io.imgcache.group.Request.of("/edited.png")) == null);
    assertEquals("MISS", header(one.get("/edited.png"), "X-Cache"), "loaded again after the POST");
  }

  @Test
  void rfc9111_3_aResponseWithSetCookieReachesOnlyTheClientItWasLoadedFor() throws Exception {
    origin.stubFor(get(urlEqualTo("/cookie.png")).willReturn(aResponse().withStatus(200)
        .withHeader("Content-Type", "image/png").withHeader("Cache-Control", "max-age=600")
        .withHeader("Set-Cookie", "session={{randomValue length=16 type='ALPHANUMERIC'}}")
        .withTransformers("response-template").withFixedDelay(300).withBody("img")));
    one = OneNode.start(origin, Map.of());
    HttpRequest request = one.request("/cookie.png").GET().build();
    List<CompletableFuture<HttpResponse<byte[]>>> answers = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      answers.add(one.http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()));
    }
    Set<String> cookies = new HashSet<>();
    for (CompletableFuture<HttpResponse<byte[]>> answer : answers) {
      HttpResponse<byte[]> response = answer.get(30, TimeUnit.SECONDS);
      assertEquals(200, response.statusCode());
      cookies.add(header(response, "Set-Cookie"));
    }
    assertEquals(20, cookies.size(), "every client got its own cookie, none another's: " + cookies);
    assertEquals(20, one.originRequestCount());
  }
}
