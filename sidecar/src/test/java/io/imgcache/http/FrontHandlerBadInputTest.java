package io.imgcache.http;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static io.imgcache.http.OneNode.ascii;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Requests the node must refuse without contacting its origin (DESIGN §3: no open proxy, no SSRF,
 * bounded keys): each gets a 4xx, or the connection is closed without a 5xx, and the node keeps
 * serving. Raw sockets, since java.net.http will not send most of these.
 */
class FrontHandlerBadInputTest {
  private static final String GOOD = "/v2/image/png/ok?w=1";

  private static WireMockServer origin;
  private static byte[] goodBody;
  private OneNode one;

  @BeforeAll
  static void startOrigin() {
    origin = OneNode.startOrigin();
    goodBody = OneNode.randomBytes(77, 9000);
  }

  @AfterAll
  static void stopOrigin() {
    origin.stop();
  }

  @BeforeEach
  void startNode() {
    origin.resetAll();
    // Anything at all the node sends the origin is answered, so only the journal can tell.
    origin.stubFor(any(anyUrl()).willReturn(aResponse().withStatus(200).withBody("the origin was contacted")));
    origin.stubFor(get(urlEqualTo(GOOD)).willReturn(aResponse()
        .withStatus(200).withHeader("Content-Type", "image/png").withBody(goodBody)));
    one = OneNode.start(origin, Map.of());
  }

  @AfterEach
  void stopNode() {
    one.close();
  }

  static Stream<Arguments> badRequests() {
    String longPath = "/" + "a".repeat(10_000);
    String bigHeader = "X-Big: " + "b".repeat(64 * 1024) + "\r\n";
    return Stream.of(
        Arguments.of("absolute-form target (open proxy)",
            ascii("GET http://evil.example/x HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")),
        Arguments.of("absolute-form target naming the origin's own port",
            ascii("GET http://127.0.0.1:" + origin.port() + "/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")),
        Arguments.of("CONNECT tunnel",
            ascii("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n")),
        Arguments.of("broken percent-encoding in the path",
            ascii("GET /v2/image/%zz.png HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")),
        Arguments.of("broken percent-encoding in the query",
            ascii("GET /v2/image/a.png?w=%4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")),
        Arguments.of("encoded control character",
            ascii("GET /v2/image/a%0d%0aX-Injected:%20yes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")),
        Arguments.of("NUL byte in the request line",
            ascii("GET /v2/image/a\0b.png HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")),
        Arguments.of("10,000-character path",
            ascii("GET " + longPath + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")),
        Arguments.of("64 KB header",
            ascii("GET /v2/image/a.png HTTP/1.1\r\nHost: x\r\n" + bigHeader + "Connection: close\r\n\r\n")),
        Arguments.of("HTTP/1.1 without Host",
            ascii("GET /v2/image/a.png HTTP/1.1\r\nConnection: close\r\n\r\n")),
        Arguments.of("two Host headers",
            ascii("GET /v2/image/a.png HTTP/1.1\r\nHost: x\r\nHost: y\r\nConnection: close\r\n\r\n")),
        Arguments.of("relative path without a leading slash",
            ascii("GET v2/image/a.png HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")),
        Arguments.of("not HTTP at all",
            ascii("\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003garbage\r\n\r\n")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badRequests")
  void isRefusedWithoutContactingTheOrigin(String what, byte[] request) {
    OneNode.RawResponse response = one.raw(request);

    assertTrue(response.status() < 0 || (response.status() >= 400 && response.status() < 500),
        () -> what + ": expected a 4xx or a closed connection, got " + response);
    assertEquals(0, one.originRequestCount(), () -> what + ": the origin was contacted: " + one.originRequests());

    HttpResponse<byte[]> good = one.get(GOOD);
    assertEquals(200, good.statusCode(), what + ": the node still serves");
    assertArrayEquals(goodBody, good.body());
    assertEquals(1, one.originRequestCount());
  }

  @Test
  void absoluteFormGets400WithAPlainTextReason() {
    OneNode.RawResponse response = one.raw(
        ascii("GET http://evil.example/x HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"));

    assertEquals(400, response.status(), response::toString);
    assertTrue(response.header("Content-Type").startsWith("text/plain"), response::toString);
    assertEquals("PASS", response.header("X-Cache"), response::toString);
  }

  @Test
  void aTargetOverTheKeyLimitGets414() {
    OneNode.RawResponse response = one.raw(ascii(
        "GET /" + "a".repeat(10_000) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));

    assertEquals(414, response.status(), response::toString);
  }
}
