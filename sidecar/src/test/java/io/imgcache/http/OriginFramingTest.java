package io.imgcache.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * How the node reads an origin's body framing: the pooled client reads a body of declared length
 * straight into its array. Against a raw origin, so that the framing is exactly what the test writes.
 */
class OriginFramingTest {
  private WireMockServer unused;
  private ServerSocket origin;
  private Thread acceptor;
  private OneNode node;

  @BeforeEach
  void start() throws IOException {
    unused = OneNode.startOrigin();
    origin = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor = new Thread(this::serve, "raw-origin");
    acceptor.setDaemon(true);
    acceptor.start();
    node = OneNode.startWithOriginUrl(unused, "http://127.0.0.1:" + origin.getLocalPort(), Map.of());
  }

  @AfterEach
  void stop() throws Exception {
    node.close();
    origin.close();
    acceptor.join(5000);
    unused.stop();
  }

  @Test
  void aBodySentInSeveralPiecesArrivesWholeAndTheConnectionServesTheNextRequest() {
    for (int i = 0; i < 3; i++) { // one pooled connection to the origin, reused
      HttpResponse<byte[]> r = node.get("/v2/image/png/pieces-" + i);
      assertEquals(200, r.statusCode());
      assertArrayEquals(body(40_000), r.body());
    }
  }

  @Test
  void anEmptyBodyOfDeclaredLengthEndsItsResponseAndTheConnectionServesTheNextRequest() {
    for (int i = 0; i < 3; i++) {
      HttpResponse<byte[]> empty = node.get("/v2/image/png/empty-" + i);
      assertEquals(200, empty.statusCode());
      assertEquals(0, empty.body().length);
    }
    assertArrayEquals(body(40_000), node.get("/v2/image/png/pieces-after").body());
  }

  @Test
  void aChunkedBodyLongerThanTheContentLengthBesideItIsReadWhole() {
    // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length. The body is longer than declared.
    HttpResponse<byte[]> r = node.get("/v2/image/png/both-headers");
    assertEquals(200, r.statusCode());
    assertArrayEquals(body(30_000), r.body());
  }

  @Test
  void a304ThatCarriesTheRepresentationsContentLengthEndsAtItsHead() {
    // RFC 9110 §8.6 lets a 304 carry the Content-Length of the full response; RFC 9112 §6.3 gives it
    // no content all the same. Undertow's client waited for those bytes: each revalidation timed out (502).
    String path = "/v2/image/png/revalidated";
    assertArrayEquals(body(20_000), node.get(path).body());
    for (int i = 0; i < 3; i++) {
      HttpResponse<byte[]> again = node.get(path);
      assertEquals(200, again.statusCode());
      assertEquals("\"r1\"", again.headers().firstValue("ETag").orElse(null));
      assertArrayEquals(body(20_000), again.body());
    }
    assertArrayEquals(body(40_000), node.get("/v2/image/png/pieces-after").body());
  }

  @Test
  void aPassedThrough304ThatCarriesAContentLengthEndsAtItsHeadToo() {
    HttpResponse<byte[]> r = node.send(node.request("/v2/image/png/conditional-post")
        .POST(HttpRequest.BodyPublishers.noBody()).build());
    assertEquals(304, r.statusCode());
    assertEquals(0, r.body().length);
    assertArrayEquals(body(40_000), node.get("/v2/image/png/pieces-after").body());
  }

  @Test
  void anInterimResponseIsRefusedAndItsConnectionNeverServesAnotherRequest() {
    // Undertow's client takes a 103 for the final answer; the 200 behind it must not become the
    // answer to the next request on that connection.
    for (String path : List.of("/v2/image/png/early-hints", "/v2/image/png/early-hints-post")) {
      HttpRequest.Builder request = node.request(path);
      HttpResponse<byte[]> r = node.send((path.endsWith("post")
          ? request.POST(HttpRequest.BodyPublishers.noBody()) : request.GET()).build());
      assertEquals(502, r.statusCode(), path);
      assertTrue(new String(r.body(), StandardCharsets.UTF_8).contains("interim 103"), path);
      for (int i = 0; i < 3; i++) {
        assertArrayEquals(body(40_000), node.get("/v2/image/png/after-hints-" + i).body());
      }
    }
  }

  private static byte[] body(int size) {
    byte[] b = new byte[size];
    for (int i = 0; i < size; i++) {
      b[i] = (byte) ('a' + i % 26);
    }
    return b;
  }

  /** Keep-alive HTTP/1.1: answers each request by its path, until the node closes the connection. */
  private void serve() {
    while (!origin.isClosed()) {
      try {
        Socket s = origin.accept();
        Thread t = new Thread(() -> connection(s), "raw-origin-connection");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private static void connection(Socket s) {
    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
      String head;
      while ((head = readHead(in)) != null) {
        String path = head.substring(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
        String common = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nCache-Control: max-age=60\r\n";
        if (path.contains("early-hints")) {
          byte[] b = body(30_000);
          out.write(("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
              + "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: " + b.length + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
          out.write(b);
          out.flush();
        } else if (path.contains("conditional-post")) {
          out.write("HTTP/1.1 304 Not Modified\r\nETag: \"p1\"\r\nContent-Length: 20000\r\n\r\n"
              .getBytes(StandardCharsets.US_ASCII));
          out.flush();
        } else if (path.contains("revalidated")) {
          // Stored with a validator and no-cache: every later request is a revalidation, answered 304.
          String tags = "ETag: \"r1\"\r\nCache-Control: no-cache\r\n";
          if (head.toLowerCase(Locale.ROOT).contains("\r\nif-none-match: \"r1\"")) {
            out.write(("HTTP/1.1 304 Not Modified\r\n" + tags + "Content-Length: 20000\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
          } else {
            out.write(("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n" + tags + "Content-Length: 20000\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.write(body(20_000));
          }
          out.flush();
        } else if (path.contains("empty")) {
          out.write((common + "Content-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
          out.flush();
        } else if (path.contains("both-headers")) {
          byte[] b = body(30_000);
          out.write((common + "Content-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
          for (int at = 0; at < b.length; at += 10_000) {
            out.write((Integer.toHexString(10_000) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(b, at, 10_000);
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
          }
          out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          out.flush();
          return; // a message framed both ways: close after it (RFC 9112 §6.3)
        } else {
          byte[] b = body(40_000);
          out.write((common + "Content-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
          for (int at = 0; at < b.length; at += 4_000) { // pieces, flushed apart: several reads
            out.write(b, at, 4_000);
            out.flush();
          }
        }
      }
    } catch (IOException e) {
      // the node closed the connection
    }
  }

  /** The request head up to the blank line, or null at end of stream. */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int last4 = 0; // the last four bytes read
    int c;
    while ((c = in.read()) >= 0) {
      head.write(c);
      last4 = (last4 << 8) | c;
      if (last4 == 0x0d0a0d0a) { // CR LF CR LF
        return head.toString(StandardCharsets.US_ASCII);
      }
    }
    return null;
  }
}
