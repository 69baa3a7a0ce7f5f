package io.imgcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code imgcache ban}: what it sends, what it prints, its exit status (BanTest covers the node side). */
class BanCommandTest {
  private HttpServer node;
  private final AtomicReference<String> seen = new AtomicReference<>();
  private final AtomicReference<String> answer = new AtomicReference<>();
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @BeforeEach
  void startNode() throws Exception {
    node = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    node.createContext("/_imgcache/ban", exchange -> {
      seen.set(exchange.getRequestMethod() + " " + exchange.getRequestURI().getRawQuery() + " "
          + exchange.getRequestHeaders().getFirst("Authorization"));
      String[] statusAndBody = answer.get().split(" ", 2);
      byte[] body = statusAndBody[1].getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(Integer.parseInt(statusAndBody[0]), body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    node.start();
  }

  @AfterEach
  void stopNode() {
    node.stop(0);
  }

  private int ban(String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "ban";
    System.arraycopy(args, 0, all, 1, args.length);
    return Main.run(all, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String url() {
    return "http://127.0.0.1:" + node.getAddress().getPort();
  }

  @Test
  void postsThePrefixWithTheTokenAndPrintsTheAnswer() {
    answer.set("200 {\"prefix\":\"/v2/image/png/003\",\"removed\":{\"http://a\":3},\"total\":3}");
    assertEquals(0, ban("--url", url(), "--token", "t0k", "/v2/image/png/003"));
    assertEquals("POST prefix=%2Fv2%2Fimage%2Fpng%2F003 Bearer t0k", seen.get());
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("\"total\":3"), out::toString);
  }

  @Test
  void aMemberThatDidNotAnswerExits1() {
    answer.set("200 {\"prefix\":\"/v2\",\"removed\":{\"http://a\":3,\"http://b\":\"error: refused\"},\"total\":3}");
    assertEquals(1, ban("--url", url(), "/v2"));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("did not answer"), err::toString);
  }

  @Test
  void aRefusalExits1WithTheReason() {
    answer.set("401 missing or wrong admin token");
    assertEquals(1, ban("--url=" + url(), "/v2"));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("401: missing or wrong admin token"), err::toString);
  }

  @Test
  void badArgumentsExit2() {
    assertEquals(2, ban("/v2"));
    assertEquals(2, ban("--url", url()));
    assertEquals(2, ban("--url", url(), "v2-without-slash"));
    assertEquals(2, ban("--url", url(), "/a", "/b"));
  }

  @Test
  void aNodeThatDoesNotAnswerExits1() {
    String down = url();
    node.stop(0);
    assertEquals(1, ban("--url", down, "/v2"));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("does not answer"), err::toString);
  }
}
