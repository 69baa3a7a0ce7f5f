package io.imgcache.peer;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import io.imgcache.Node;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The differential transparency suite (DESIGN §10): one corpus of origin behaviours, each asked
 * straight from the origin and through every path of a three-node cluster — MISS, HIT, PEER,
 * HIT-HOT, FALLBACK, PASS — and compared: status, every end-to-end header (name and values, in
 * order) and body must be what the origin sent, except what RFC 9111 lets a shared cache change
 * (DESIGN §4: Age, Via, X-Cache, Date; framing headers, which describe one hop).
 */
class TransparencyTest extends ClusterTest {
  /** What a shared cache may change, lower case: its own headers and the framing of one hop. */
  private static final Set<String> MAY_DIFFER = Set.of("age", "via", "x-cache", "date", "connection", "keep-alive",
      "transfer-encoding", "content-length");

  /** One origin behaviour: a name, the response, and the request headers the client sends. */
  record Case(String name, UnaryOperator<ResponseDefinitionBuilder> response, List<String> requestHeaders,
      boolean storable) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Arguments> corpus() {
    String longValue = "v".repeat(4000);
    List<Case> cases = List.of(
        new Case("image with CORS, disposition, link and custom headers", r -> r.withStatus(200)
            .withHeader("Content-Type", "image/webp")
            .withHeader("Access-Control-Allow-Origin", "*")
            .withHeader("Timing-Allow-Origin", "*")
            .withHeader("Cross-Origin-Resource-Policy", "cross-origin")
            .withHeader("Content-Disposition", "inline; filename=\"003.webp\"")
            .withHeader("Link", "<https://img.example/003.avif>; rel=alternate; type=image/avif")
            .withHeader("X-Imgfit-Version", "3.2.1")
            .withHeader("X-Multi", "one", "two")
            .withHeader("ETag", "\"abc\"")
            .withHeader("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT")
            .withHeader("Cache-Control", "public, max-age=3600")
            .withBody(LocalCluster.randomBytes(1, 20_000)), List.of(), true),
        new Case("Vary: Accept negotiated image", r -> r.withStatus(200)
            .withHeader("Content-Type", "image/webp").withHeader("Vary", "Accept")
            .withHeader("Cache-Control", "max-age=600").withBody(LocalCluster.randomBytes(2, 5000)),
            List.of("Accept", "image/avif,image/webp,*/*", "User-Agent", "test-browser/1.0"), true),
        new Case("404 with a body", r -> r.withStatus(404).withHeader("Content-Type", "text/html")
            .withHeader("Cache-Control", "max-age=60").withBody("<h1>no such image</h1>"), List.of(), true),
        new Case("204 without a body", r -> r.withStatus(204).withHeader("X-Reason", "empty")
            .withHeader("Cache-Control", "max-age=60"), List.of(), true),
        new Case("301 redirect", r -> r.withStatus(301).withHeader("Location", "/v2/image/png/004")
            .withHeader("Cache-Control", "max-age=60").withBody("moved"), List.of(), true),
        new Case("gzip-encoded body", r -> r.withStatus(200).withHeader("Content-Type", "image/svg+xml")
            .withHeader("Content-Encoding", "gzip").withHeader("Vary", "Accept-Encoding")
            .withHeader("Cache-Control", "max-age=600").withBody(LocalCluster.randomBytes(3, 3000)),
            List.of("Accept-Encoding", "gzip, br"), true),
        new Case("long header value", r -> r.withStatus(200).withHeader("Content-Type", "image/png")
            .withHeader("X-Long", longValue).withHeader("Cache-Control", "max-age=600")
            .withBody(LocalCluster.randomBytes(4, 100)), List.of(), true),
        new Case("sixty headers", r -> {
          ResponseDefinitionBuilder b = r.withStatus(200).withHeader("Content-Type", "image/png")
              .withHeader("Cache-Control", "max-age=600");
          for (int i = 0; i < 60; i++) {
            b = b.withHeader("X-H" + i, "value " + i);
          }
          return b.withBody(LocalCluster.randomBytes(5, 100));
        }, List.of(), true),
        new Case("non-ASCII header value", r -> r.withStatus(200).withHeader("Content-Type", "image/png")
            .withHeader("X-Title", "caf\u00e9 cr\u00e8me").withHeader("Cache-Control", "max-age=600")
            .withBody(LocalCluster.randomBytes(6, 100)), List.of(), true),
        new Case("500 with Retry-After", r -> r.withStatus(500).withHeader("Content-Type", "text/plain")
            .withHeader("Retry-After", "30").withBody("resizer overloaded"), List.of(), false),
        new Case("Set-Cookie", r -> r.withStatus(200).withHeader("Content-Type", "image/png")
            .withHeader("Set-Cookie", "session=abc; HttpOnly").withHeader("Cache-Control", "max-age=600")
            .withBody(LocalCluster.randomBytes(7, 100)), List.of(), false),
        new Case("private", r -> r.withStatus(200).withHeader("Content-Type", "image/png")
            .withHeader("Cache-Control", "private, max-age=600").withBody(LocalCluster.randomBytes(8, 100)),
            List.of(), false));
    return cases.stream().map(Arguments::of);
  }

  /** The origin's answer and the cluster's answers on each path, for one case. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("corpus")
  void everyPathAnswersWhatTheOriginAnswers(Case c) {
    List<Node> nodes = cluster.start(3, Map.of());
    String base = stub("/v2/image/png/transparency", c);
    for (String method : List.of("GET", "HEAD")) {
      String target = base + "&m=" + method;
      HttpResponse<byte[]> direct = send(URI.create(cluster.originUrl + target), method, c.requestHeaders());
      String key = LocalCluster.keyOf(target);
      Node owner = LocalCluster.owner(nodes, key);
      Node other = LocalCluster.nonOwner(nodes, key);

      List<String> seen = new ArrayList<>();
      for (Node node : List.of(owner, owner, other, other)) {
        HttpResponse<byte[]> through = send(LocalCluster.uri(node, target), method, c.requestHeaders());
        seen.add(LocalCluster.xCache(through));
        assertSame(c + " " + method + " " + seen, direct, through);
      }
      if (c.storable() && method.equals("GET")) {
        // The hot cache keeps 200s only: other statuses are asked from the owner each time.
        String fourth = direct.statusCode() == 200 ? "HIT-HOT" : "PEER";
        assertEquals(List.of("MISS", "HIT", "PEER", fourth), seen, "paths taken for " + c);
      }
      // A key first asked at a non-owner: the owner loads it for the peer.
      String viaPeer = target + "&p=1";
      Node asker = LocalCluster.nonOwner(nodes, LocalCluster.keyOf(viaPeer));
      HttpResponse<byte[]> peer = send(LocalCluster.uri(asker, viaPeer), method, c.requestHeaders());
      assertSame(c + " " + method + " first through a non-owner (" + LocalCluster.xCache(peer) + ")", direct, peer);

      // With credentials the request is the client's alone (PASS): the origin sees them and answers it.
      String pass = target + "&z=auth";
      List<String> withAuth = new ArrayList<>(c.requestHeaders());
      withAuth.addAll(List.of("Authorization", "Bearer secret"));
      HttpResponse<byte[]> passed = send(LocalCluster.uri(owner, pass), method, withAuth);
      assertEquals("PASS", LocalCluster.xCache(passed), c + ": a request with Authorization is passed");
      assertSame(c + " " + method + " PASS", direct, passed);
    }
  }

  /** FALLBACK: the owner is unreachable, the asking node loads for its client and keeps nothing. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("corpus")
  void aFallbackAnswersWhatTheOriginAnswers(Case c) {
    int[] ports = LocalCluster.freePorts(2);
    String dead = LocalCluster.url(ports[1]); // listed, never started
    Node alive = cluster.startNode(ports[0], List.of(LocalCluster.url(ports[0]), dead), Map.of());
    String base = stub("/v2/image/png/fallback", c);
    String target = null;
    for (int i = 0; target == null; i++) {
      String candidate = base + "&i=" + i;
      if (LocalCluster.ownerUrl(alive, LocalCluster.keyOf(candidate)).equals(dead)) {
        target = candidate;
      }
    }
    HttpResponse<byte[]> direct = send(URI.create(cluster.originUrl + target), "GET", c.requestHeaders());
    HttpResponse<byte[]> through = send(LocalCluster.uri(alive, target), "GET", c.requestHeaders());
    assertEquals("FALLBACK", LocalCluster.xCache(through), c::toString);
    assertSame(c + " FALLBACK", direct, through);
  }

  /**
   * One stub answering every target under {@code path} with the case's {@code case} parameter (so
   * WireMock's Matched-Stub-Id is the same everywhere); returns {@code path?case=<id>}. Further
   * parameters must sort after "case": loads send the canonical (sorted) target.
   */
  private static String stub(String path, Case c) {
    String id = Integer.toString(Math.abs(c.name().hashCode()));
    origin.stubFor(any(urlPathEqualTo(path)).withQueryParam("case", equalTo(id))
        .willReturn(c.response().apply(aResponse())));
    return path + "?case=" + id;
  }

  private HttpResponse<byte[]> send(URI uri, String method, List<String> headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(LocalCluster.REQUEST_TIMEOUT)
        .method(method, HttpRequest.BodyPublishers.noBody());
    for (int i = 0; i < headers.size(); i += 2) {
      b.header(headers.get(i), headers.get(i + 1));
    }
    try {
      return cluster.http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new AssertionError(method + " " + uri + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static void assertSame(String what, HttpResponse<byte[]> direct, HttpResponse<byte[]> through) {
    assertEquals(direct.statusCode(), through.statusCode(), what + ": status");
    assertEquals(endToEnd(direct), endToEnd(through), what + ": headers");
    assertArrayEquals(direct.body(), through.body(), what + ": body");
    assertNotNull(LocalCluster.xCache(through), what + ": X-Cache");
    String via = through.headers().firstValue("Via").orElse("");
    assertTrue(via.contains("imgcache"), what + ": Via names the cache, was " + via);
  }

  private static Map<String, List<String>> endToEnd(HttpResponse<?> response) {
    Map<String, List<String>> out = new TreeMap<>();
    response.headers().map().forEach((name, values) -> {
      String lower = name.toLowerCase(Locale.ROOT);
      if (!MAY_DIFFER.contains(lower)) {
        out.put(lower, values);
      }
    });
    return out;
  }
}
