package io.imgcache.http;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static io.imgcache.http.OneNode.ascii;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What is passed through to the origin and never cached (DESIGN §3, §4): methods other than GET
 * and HEAD, and bodies over {@code cache.max-object-size}.
 */
class FrontHandlerPassThroughTest extends OneNodeTest {
  private static final int MAX_OBJECT = 64 * 1024;
  private static final int BIG = 1 << 20;

  @Test
  void postWithABodyIsPassedThroughAndNotCached() {
    origin.stubFor(post(urlEqualTo("/v2/upload?name=a.png"))
        .withHeader("X-Custom", equalTo("custom-value"))
        .withRequestBody(equalTo("the posted body"))
        .willReturn(aResponse().withStatus(201).withHeader("Content-Type", "text/plain")
            .withHeader("Location", "/v2/image/a.png").withBody("created")));
    origin.stubFor(get(urlEqualTo("/v2/upload?name=a.png")).willReturn(aResponse()
        .withStatus(200).withHeader("Content-Type", "text/plain").withBody("the GET answer")));
    one = OneNode.start(origin, Map.of());
    HttpRequest post = one.request("/v2/upload?name=a.png")
        .header("X-Custom", "custom-value")
        .header("Content-Type", "text/plain")
        .POST(HttpRequest.BodyPublishers.ofString("the posted body"))
        .build();

    for (int i = 1; i <= 2; i++) {
      HttpResponse<byte[]> response = one.send(post);
      assertEquals(201, response.statusCode(), () -> new String(response.body(), StandardCharsets.UTF_8));
      assertEquals("created", new String(response.body(), StandardCharsets.UTF_8));
      assertEquals("PASS", response.headers().firstValue("X-Cache").orElse(null));
      assertEquals("/v2/image/a.png", response.headers().firstValue("Location").orElse(null));
      assertEquals(i, origin.findAll(postRequestedFor(urlEqualTo("/v2/upload?name=a.png"))).size(),
          "every POST goes to the origin");
    }
    LoggedRequest seen = origin.findAll(postRequestedFor(urlEqualTo("/v2/upload?name=a.png"))).get(0);
    assertEquals("the posted body", seen.getBodyAsString());
    assertEquals("custom-value", seen.getHeader("X-Custom"));
    assertTrue(seen.getHeader("Via").contains("imgcache"), seen.getHeader("Via"));

    // The POST left nothing in the cache for a GET of the same target.
    HttpResponse<byte[]> get = one.get("/v2/upload?name=a.png");
    assertEquals("the GET answer", new String(get.body(), StandardCharsets.UTF_8));
    assertEquals("MISS", get.headers().firstValue("X-Cache").orElse(null));
    assertEquals(1, origin.findAll(getRequestedFor(urlEqualTo("/v2/upload?name=a.png"))).size());
  }

  @ParameterizedTest(name = "Content-Length known: {0}")
  @ValueSource(booleans = {true, false})
  void aBodyOverTheMaximumObjectSizeIsPassedThroughIntactAndNotCached(boolean contentLength) {
    byte[] body = OneNode.randomBytes(1024, BIG);
    ResponseDefinitionBuilder response = aResponse()
        .withStatus(200)
        .withHeader("Content-Type", "image/png")
        .withHeader("ETag", "\"big\"")
        .withBody(body);
    if (contentLength) {
      // WireMock chunks bodies unless told the length.
      response.withHeader("Content-Length", String.valueOf(BIG));
    } else {
      response.withChunkedDribbleDelay(8, 100);
    }
    origin.stubFor(get(urlEqualTo("/v2/image/png/huge?w=8000")).willReturn(response));
    assertOriginFraming(contentLength);
    origin.resetRequests();
    one = OneNode.start(origin, Map.of("imgcache.cache.max-object-size", MAX_OBJECT + "B"));

    for (int i = 1; i <= 3; i++) {
      HttpResponse<byte[]> answer = one.get("/v2/image/png/huge?w=8000");
      assertEquals(200, answer.statusCode());
      assertEquals(BIG, answer.body().length);
      assertArrayEquals(body, answer.body(), "exact bytes");
      assertEquals("image/png", answer.headers().firstValue("Content-Type").orElse(null));
      assertEquals("\"big\"", answer.headers().firstValue("ETag").orElse(null));
      assertEquals("PASS", answer.headers().firstValue("X-Cache").orElse(null), "streamed, not cached");
      // Issue 10 item 4: the first request paid an attempted load and then a stream (two resizes);
      // now the load's own answer is streamed on, and later requests pass through.
      assertEquals(i, one.originRequestCount(), "one origin request per client request, the first included");
    }
    assertNull(one.node.group().peek(io.imgcache.group.Request.of("/v2/image/png/huge?w=8000")), "nothing cached");
  }

  /** A HEAD starts a load (a GET) like any miss; a too-large answer gives its headers, and the body is dropped. */
  @Test
  void aHeadOfATooLargeObjectIsAnsweredFromTheLoadsHeaders() {
    origin.stubFor(get(urlEqualTo("/v2/image/png/huge?w=7000")).willReturn(aResponse().withStatus(200)
        .withHeader("Content-Type", "image/png").withHeader("Content-Length", String.valueOf(BIG))
        .withBody(OneNode.randomBytes(1026, BIG))));
    one = OneNode.start(origin, Map.of("imgcache.cache.max-object-size", MAX_OBJECT + "B"));

    HttpResponse<byte[]> head = one.send(one.request("/v2/image/png/huge?w=7000")
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());

    assertEquals(200, head.statusCode());
    assertEquals(String.valueOf(BIG), head.headers().firstValue("Content-Length").orElse(null));
    assertEquals("image/png", head.headers().firstValue("Content-Type").orElse(null));
    assertEquals(0, head.body().length);
    assertEquals(1, one.originRequestCount());
  }

  /** Issue 10 item 4: concurrent first requests of a too-large object cost one origin request each, never more. */
  @ParameterizedTest(name = "Content-Length known: {0}")
  @ValueSource(booleans = {true, false})
  void concurrentFirstRequestsOfATooLargeObjectCostOneOriginRequestEach(boolean contentLength) throws Exception {
    byte[] body = OneNode.randomBytes(1025, BIG);
    ResponseDefinitionBuilder response = aResponse().withStatus(200).withHeader("Content-Type", "image/png")
        .withFixedDelay(300).withBody(body);
    if (contentLength) {
      response.withHeader("Content-Length", String.valueOf(BIG));
    }
    origin.stubFor(get(urlEqualTo("/v2/image/png/huge?w=9000")).willReturn(response));
    one = OneNode.start(origin, Map.of("imgcache.cache.max-object-size", MAX_OBJECT + "B"));
    int clients = 8;

    var pool = java.util.concurrent.Executors.newFixedThreadPool(clients);
    try {
      List<java.util.concurrent.Future<HttpResponse<byte[]>>> answers = new java.util.ArrayList<>();
      for (int i = 0; i < clients; i++) {
        answers.add(pool.submit(() -> one.get("/v2/image/png/huge?w=9000")));
      }
      for (var answer : answers) {
        HttpResponse<byte[]> got = answer.get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(200, got.statusCode());
        assertArrayEquals(body, got.body(), "exact bytes");
      }
    } finally {
      pool.shutdownNow();
    }
    int seen = one.originRequestCount();
    assertTrue(seen >= 1 && seen <= clients, clients + " concurrent first requests cost the origin " + seen);
  }

  /** Checks the stub frames its body the way the test case claims, straight from the origin. */
  private static void assertOriginFraming(boolean contentLength) {
    OneNode.RawResponse direct = OneNode.raw(origin.port(),
        ascii("GET /v2/image/png/huge?w=8000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    assertEquals(200, direct.status());
    if (contentLength) {
      assertEquals(String.valueOf(BIG), direct.header("Content-Length"), direct::toString);
    } else {
      assertNull(direct.header("Content-Length"), direct::toString);
    }
  }

  @Test
  void otherMethodsArePassedThroughWithXCachePass() {
    origin.stubFor(any(urlEqualTo("/v2/thing")).willReturn(aResponse().withStatus(202).withBody("accepted")));
    one = OneNode.start(origin, Map.of());

    HttpResponse<byte[]> put = one.send(one.request("/v2/thing")
        .PUT(HttpRequest.BodyPublishers.ofString("new")).build());
    HttpResponse<byte[]> delete = one.send(one.request("/v2/thing").DELETE().build());

    assertEquals(202, put.statusCode());
    assertEquals("PASS", put.headers().firstValue("X-Cache").orElse(null));
    assertEquals(202, delete.statusCode());
    assertEquals("PASS", delete.headers().firstValue("X-Cache").orElse(null));
    List<LoggedRequest> seen = one.originRequests();
    assertEquals(2, seen.size());
    assertEquals(List.of("DELETE", "PUT"), seen.stream().map(r -> r.getMethod().getName()).sorted().toList());
    assertEquals(List.of("new"), seen.stream().filter(r -> r.getMethod().getName().equals("PUT"))
        .map(LoggedRequest::getBodyAsString).toList());
  }
}
