package io.imgcache.http;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static io.imgcache.http.OneNode.ascii;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** One load per key on one node (DESIGN §1 "Coalescing is robust"), seen from HTTP clients. */
class FrontHandlerCoalescingTest extends OneNodeTest {
  @Test
  void twoHundredConcurrentRequestsForOneUncachedKeyCauseOneOriginRequest() throws Exception {
    byte[] body = OneNode.randomBytes(200, 64 * 1024 + 7);
    origin.stubFor(get(urlEqualTo("/v2/image/jpeg/200?h=480&w=640")).willReturn(aResponse()
        .withStatus(200)
        .withHeader("Content-Type", "image/jpeg")
        .withHeader("ETag", "\"c200\"")
        .withBody(body)
        .withFixedDelay(500)));
    one = OneNode.start(origin, Map.of());
    HttpRequest request = one.request("/v2/image/jpeg/200?w=640&h=480").GET().build();

    List<CompletableFuture<HttpResponse<byte[]>>> responses = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      responses.add(one.http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()));
    }
    CompletableFuture.allOf(responses.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);

    int misses = 0;
    for (CompletableFuture<HttpResponse<byte[]>> future : responses) {
      HttpResponse<byte[]> response = future.join();
      assertEquals(200, response.statusCode());
      assertArrayEquals(body, response.body());
      assertEquals("\"c200\"", response.headers().firstValue("ETag").orElse(null));
      String xCache = response.headers().firstValue("X-Cache").orElse("");
      // Requests that arrive after the load finished are hits; none may start a second load.
      assertTrue(Set.of("MISS", "HIT").contains(xCache), xCache);
      misses += xCache.equals("MISS") ? 1 : 0;
    }
    assertEquals(1, one.originRequestCount(), "origin requests");
    assertTrue(misses >= 1, "the first request is a miss");
  }

  @Test
  void aClientThatDisconnectsMidLoadDoesNotCancelTheLoadForTheOthers() throws Exception {
    byte[] body = OneNode.randomBytes(42, 20_000);
    origin.stubFor(get(urlEqualTo("/v2/image/png/slow")).willReturn(aResponse()
        .withStatus(200)
        .withHeader("Content-Type", "image/png")
        .withBody(body)
        .withFixedDelay(3000))); // the first client leaves well within it
    one = OneNode.start(origin, Map.of());

    CompletableFuture<HttpResponse<byte[]>> second;
    try (Socket first = new Socket(InetAddress.getLoopbackAddress(), one.port())) {
      first.getOutputStream().write(ascii("GET /v2/image/png/slow HTTP/1.1\r\nHost: x\r\n\r\n"));
      first.getOutputStream().flush();
      // The first client's request has started the load (the origin logs on arrival, before its delay).
      OneNode.await("the load to reach the origin", Duration.ofSeconds(5), () -> one.originRequestCount() == 1);
      second = one.http.sendAsync(one.request("/v2/image/png/slow").GET().build(),
          HttpResponse.BodyHandlers.ofByteArray());
      // Let the second client's request reach the node and join the flight before the first leaves.
      // Joined, not answered yet: a coalesced wait is counted when a request joins a flight in flight.
      // (Not "second is not done": that timed the machine, and a busy one got past the origin's delay.)
      OneNode.await("the second client to join the load", Duration.ofSeconds(5),
          () -> coalescedWaits(one) >= 1);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    // The first client is gone (socket closed) while the origin is still delaying. Undertow does not
    // read a connection whose exchange is in flight, so today the node only sees the close when it
    // writes the answer; this guards the outcome, whichever way a future server notices earlier.

    HttpResponse<byte[]> response = second.get(10, TimeUnit.SECONDS);
    assertEquals(200, response.statusCode());
    assertArrayEquals(body, response.body());
    assertEquals("MISS", response.headers().firstValue("X-Cache").orElse(null));
    assertEquals(1, one.originRequestCount());

    HttpResponse<byte[]> after = one.get("/v2/image/png/slow");
    assertEquals("HIT", after.headers().firstValue("X-Cache").orElse(null));
    assertArrayEquals(body, after.body());
    assertEquals(1, one.originRequestCount());
  }

  /** How many requests joined a load already in flight, from the node's own metrics. */
  private static double coalescedWaits(OneNode one) {
    for (String line : one.text("/_imgcache/metrics").split("\n")) {
      if (line.startsWith("imgcache_coalesced_waits_total ")) {
        return Double.parseDouble(line.substring("imgcache_coalesced_waits_total ".length()).trim());
      }
    }
    return 0;
  }
}
