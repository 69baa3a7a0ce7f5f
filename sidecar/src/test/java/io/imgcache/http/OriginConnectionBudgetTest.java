package io.imgcache.http;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * One origin connection budget for loads and pass-through, with a wait queue (issue 10 item 2,
 * issue 15): requests beyond {@code origin.max-connections} wait instead of failing, the origin never
 * sees more connections than that (counted by a relay in front of it), and only a full queue
 * refuses — at once, with 503 and a reason.
 */
class OriginConnectionBudgetTest {
  private static WireMockServer wiremock;
  private ConnectionCounter counter;
  private OneNode one;

  @BeforeAll
  static void startOrigin() {
    // Delays served asynchronously: 150 slow answers at once must not need 150 Jetty threads.
    wiremock = new WireMockServer(wireMockConfig().bindAddress("127.0.0.1").dynamicPort()
        .containerThreads(64).asynchronousResponseEnabled(true).asynchronousResponseThreads(16)
        .jettyStopTimeout(2000L));
    wiremock.start();
  }

  @AfterAll
  static void stopOrigin() {
    wiremock.stop();
  }

  @BeforeEach
  void reset() {
    wiremock.resetAll();
    counter = ConnectionCounter.start(wiremock.port());
  }

  @AfterEach
  void stop() {
    try {
      if (one != null) {
        one.close();
      }
    } finally {
      counter.close();
    }
  }

  private OneNode node(Map<String, Object> overrides) {
    return OneNode.startWithOriginUrl(wiremock, "http://127.0.0.1:" + counter.port(), overrides);
  }

  /** Sends every request at once and returns the answers in order. */
  private List<HttpResponse<byte[]>> all(List<HttpRequest> requests) {
    List<CompletableFuture<HttpResponse<byte[]>>> sent = new ArrayList<>();
    for (HttpRequest request : requests) {
      sent.add(one.http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()));
    }
    return sent.stream().map(CompletableFuture::join).toList();
  }

  private static Map<Integer, Integer> statuses(List<HttpResponse<byte[]>> answers) {
    Map<Integer, Integer> count = new TreeMap<>();
    answers.forEach(a -> count.merge(a.statusCode(), 1, Integer::sum));
    return count;
  }

  private HttpRequest postRequest(int i) {
    return one.request("/v2/upload/" + i).POST(HttpRequest.BodyPublishers.ofString("body " + i)).build();
  }

  /** Issue 10 item 2: 40 POSTs through one node answered 20 × 502, 64 answered 15 failures. */
  @ParameterizedTest(name = "{0} concurrent POSTs")
  @ValueSource(ints = {40, 64})
  void concurrentPostsAreAllAnsweredLikeTheOriginAlone(int clients) {
    wiremock.stubFor(post(urlPathMatching("/v2/upload/.*")).willReturn(aResponse().withStatus(200)
        .withFixedDelay(300).withBody("stored")));
    one = node(Map.of());

    List<HttpResponse<byte[]>> answers = all(java.util.stream.IntStream.range(0, clients)
        .mapToObj(this::postRequest).toList());

    assertEquals(Map.of(200, clients), statuses(answers), () -> bodies(answers));
    answers.forEach(a -> assertEquals("stored", new String(a.body(), UTF_8)));
    assertTrue(counter.max() <= 64, "the origin saw " + counter.max() + " connections at once");
  }

  /** Issue 10 item 2: 20 concurrent GETs of an object over cache.max-object-size answered 7 × 502. */
  @Test
  void concurrentGetsOfAnObjectTooLargeToCacheAreAllStreamed() {
    byte[] big = OneNode.randomBytes(7, 256 * 1024);
    wiremock.stubFor(get(urlEqualTo("/v2/image/png/huge")).willReturn(aResponse().withStatus(200)
        .withHeader("Content-Type", "image/png").withFixedDelay(200).withBody(big)));
    one = node(Map.of("imgcache.cache.max-object-size", "64KiB"));

    List<HttpResponse<byte[]>> answers = all(java.util.stream.IntStream.range(0, 20)
        .mapToObj(i -> one.request("/v2/image/png/huge").GET().build()).toList());

    assertEquals(Map.of(200, 20), statuses(answers), () -> bodies(answers));
    answers.forEach(a -> assertArrayEquals(big, a.body(), "exact bytes"));
  }

  /**
   * Loads, pass-through POSTs and streamed too-large GETs at once, through a budget of 8: all
   * answered, and the origin never sees more than 8 connections (it saw loads' and the proxy's own
   * before: about twice the budget).
   */
  @Test
  void loadsAndPassThroughTogetherNeverExceedMaxConnections() {
    byte[] big = OneNode.randomBytes(8, 128 * 1024);
    wiremock.stubFor(post(urlPathMatching("/v2/upload/.*")).willReturn(aResponse().withStatus(201)
        .withFixedDelay(100).withBody("created")));
    wiremock.stubFor(get(urlPathMatching("/v2/image/big/.*")).willReturn(aResponse().withStatus(200)
        .withFixedDelay(100).withBody(big)));
    List<byte[]> small = new ArrayList<>();
    for (int k = 0; k < 40; k++) {
      small.add(OneNode.randomBytes(100 + k, 2_000 + k));
      wiremock.stubFor(get(urlEqualTo("/v2/image/png/" + k)).willReturn(aResponse().withStatus(200)
          .withFixedDelay(100).withBody(small.get(k))));
    }
    one = node(Map.of("imgcache.origin.max-connections", 8, "imgcache.cache.max-object-size", "64KiB"));
    // The first request of a too-large key is a load cut off at the limit, which closes its
    // connection (issue 10 item 4); the node closes before it lets the next request connect, but the
    // relay may count the new connection before it notices the old one's end. Learn the big keys
    // first, so that the burst is loads and pass-through only, and count from then on.
    for (int i = 0; i < 40; i += 4) {
      assertEquals(200, one.get("/v2/image/big/" + i).statusCode());
    }
    counter.resetMax();

    List<HttpRequest> requests = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      requests.add(one.request("/v2/image/png/" + i).GET().build());
      requests.add(postRequest(i));
      if (i % 4 == 0) {
        requests.add(one.request("/v2/image/big/" + i).GET().build());
      }
    }
    List<HttpResponse<byte[]>> answers = all(requests);

    for (int i = 0; i < requests.size(); i++) {
      HttpResponse<byte[]> a = answers.get(i);
      String path = requests.get(i).uri().getPath();
      assertTrue(a.statusCode() == 200 || a.statusCode() == 201, () -> path + ": " + a.statusCode() + " "
          + new String(a.body(), UTF_8));
      if (path.startsWith("/v2/image/png/")) {
        assertArrayEquals(small.get(Integer.parseInt(path.substring("/v2/image/png/".length()))), a.body(), path);
      } else if (path.startsWith("/v2/image/big/")) {
        assertArrayEquals(big, a.body(), path);
      }
    }
    System.out.println("mixed burst through a budget of 8: origin connections at most " + counter.max()
        + ", opened " + counter.accepted() + "; queue waits " + metric("imgcache_origin_queue_waits_total"));
    assertTrue(counter.max() <= 8, "the origin saw " + counter.max() + " connections at once (budget 8)");
    assertTrue(metric("imgcache_origin_queue_waits_total") > 0, "the burst queued");
  }

  /**
   * Issue 15: with the defaults (64 connections), an origin taking 1.5 s per image and 150 new keys
   * at once, 64 got "503 origin busy" after the 1 s borrow timeout. Now all wait their turn.
   */
  @Test
  void aBurstOfNewKeysWaitsForTheOriginInsteadOfFailing() {
    int keys = 150;
    List<byte[]> bodies = new ArrayList<>();
    for (int k = 0; k < keys; k++) {
      bodies.add(OneNode.randomBytes(1_000 + k, 4_000 + 13 * k));
      wiremock.stubFor(get(urlEqualTo("/v2/image/png/burst-" + k + "?w=100")).willReturn(aResponse()
          .withStatus(200).withHeader("Content-Type", "image/png").withFixedDelay(1500).withBody(bodies.get(k))));
    }
    one = node(Map.of());

    List<HttpResponse<byte[]>> answers = all(java.util.stream.IntStream.range(0, keys)
        .mapToObj(k -> one.request("/v2/image/png/burst-" + k + "?w=100").GET().build()).toList());

    assertEquals(Map.of(200, keys), statuses(answers), () -> bodies(answers));
    for (int k = 0; k < keys; k++) {
      assertArrayEquals(bodies.get(k), answers.get(k).body(), "key " + k + ": exact bytes");
      assertEquals("MISS", answers.get(k).headers().firstValue("X-Cache").orElse(null));
    }
    System.out.println("150-key burst: origin connections at most " + counter.max() + ", opened "
        + counter.accepted() + "; " + queueFigures());
    assertTrue(counter.max() <= 64, "the origin saw " + counter.max() + " connections at once");
    assertEquals(keys - 64, (int) metric("imgcache_origin_queue_waits_total"), "requests that waited");
    assertEquals(0, (int) metric("imgcache_origin_queue_timeouts_total"));
    assertEquals(0, (int) metric("imgcache_origin_queue_rejects_total"));
    assertEquals(0, (int) metric("imgcache_origin_queue_length"));
  }

  /**
   * A burst larger than connections + queue: the overflow, and only the overflow, gets a fast 503
   * with a reason; everything that found a place in the queue is answered.
   */
  @Test
  void aBurstLargerThanTheQueueGetsFast503sForTheOverflowOnly() {
    wiremock.stubFor(get(urlPathMatching("/v2/image/png/over-.*")).willReturn(aResponse().withStatus(200)
        .withFixedDelay(2000).withBody("slow")));
    one = node(Map.of("imgcache.origin.max-connections", 4, "imgcache.origin.max-queued", 4));
    Function<Integer, HttpRequest> request = k -> one.request("/v2/image/png/over-" + k).GET().build();

    // Fill the connections and the queue first, so that what follows overflows whatever the timing.
    List<CompletableFuture<HttpResponse<byte[]>>> admitted = new ArrayList<>();
    for (int k = 0; k < 8; k++) {
      admitted.add(one.http.sendAsync(request.apply(k), HttpResponse.BodyHandlers.ofByteArray()));
    }
    OneNode.await("4 busy and 4 queued", Duration.ofSeconds(10),
        () -> metric("imgcache_origin_connections_in_use") == 4 && metric("imgcache_origin_queue_length") == 4);
    List<HttpResponse<byte[]>> overflow = all(java.util.stream.IntStream.range(8, 20).mapToObj(request::apply)
        .toList());

    assertEquals(Map.of(503, 12), statuses(overflow), () -> bodies(overflow));
    for (HttpResponse<byte[]> a : overflow) {
      assertTrue(new String(a.body(), UTF_8).startsWith("origin busy: queue full"), new String(a.body(), UTF_8));
      assertEquals("MISS", a.headers().firstValue("X-Cache").orElse(null));
    }
    List<HttpResponse<byte[]>> served = admitted.stream().map(CompletableFuture::join).toList();
    assertEquals(Map.of(200, 8), statuses(served), () -> bodies(served));
    assertEquals(12, (int) metric("imgcache_origin_queue_rejects_total"));
    assertEquals(4, (int) metric("imgcache_origin_queue_waits_total"));
    assertTrue(counter.max() <= 4, "the origin saw " + counter.max() + " connections at once");
  }

  private double metric(String name) {
    double found = 0;
    for (String line : new String(one.node.metrics().text(), UTF_8).split("\n")) {
      if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
        found += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return found;
  }

  private String queueFigures() {
    return "imgcache_origin_queue_waits_total " + metric("imgcache_origin_queue_waits_total")
        + ", _timeouts_total " + metric("imgcache_origin_queue_timeouts_total")
        + ", _rejects_total " + metric("imgcache_origin_queue_rejects_total")
        + ", _length " + metric("imgcache_origin_queue_length")
        + ", wait_seconds count " + metric("imgcache_origin_queue_wait_seconds_count")
        + " sum " + String.format("%.1f", metric("imgcache_origin_queue_wait_seconds_sum")) + " s";
  }

  private static String bodies(List<HttpResponse<byte[]>> answers) {
    StringBuilder out = new StringBuilder();
    for (HttpResponse<byte[]> a : answers) {
      if (a.statusCode() >= 300) {
        out.append(a.statusCode()).append(' ').append(new String(a.body(), UTF_8).trim()).append('\n');
      }
    }
    return out.toString();
  }
}
