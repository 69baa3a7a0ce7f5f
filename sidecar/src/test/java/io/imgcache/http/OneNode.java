package io.imgcache.http;

import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.junit.jupiter.api.Assertions.fail;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.WireMock;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import com.typesafe.config.ConfigFactory;
import io.imgcache.Node;
import io.imgcache.config.ImgcacheConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Test fixture: one {@link Node} on a loopback port in front of a WireMock origin, and the clients
 * the http package's integration tests talk to it with. Not thread-safe; one per test. {@link
 * #close} stops the node and the client threads; the WireMock server belongs to the test class.
 */
final class OneNode implements AutoCloseable {
  /** Every request a test sends gives up after this: a hang is a failure, not a stuck build. */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(20);

  final WireMockServer origin;
  final Node node;
  private final ExecutorService clientThreads;
  final HttpClient http;

  private OneNode(WireMockServer origin, String originUrl, Map<String, Object> overrides) {
    this.origin = origin;
    this.node = Node.start(config(originUrl, overrides));
    this.clientThreads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "test-http-client");
      t.setDaemon(true);
      return t;
    });
    // HTTP/1.1 only: no h2c upgrade headers in what the node sees.
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .executor(clientThreads)
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  /** A node whose origin is {@code origin}, with {@code overrides} (HOCON paths) over the test defaults. */
  static OneNode start(WireMockServer origin, Map<String, Object> overrides) {
    // Not baseUrl(): that says "localhost", which may resolve to ::1 where WireMock does not listen.
    return new OneNode(origin, "http://127.0.0.1:" + origin.port(), overrides);
  }

  /** A node whose origin is {@code originUrl} (e.g. a closed port); {@link #origin} is unused then. */
  static OneNode startWithOriginUrl(WireMockServer origin, String originUrl, Map<String, Object> overrides) {
    return new OneNode(origin, originUrl, overrides);
  }

  /** A WireMock origin on a free loopback port. The caller stops it. */
  static WireMockServer startOrigin() {
    WireMockServer server = new WireMockServer(wireMockConfig()
        .bindAddress("127.0.0.1")
        .dynamicPort()
        .containerThreads(64)
        .jettyStopTimeout(2000L));
    server.start();
    return server;
  }

  /** The config the tests share: loopback, port 0, a short drain so a broken test cannot stall close. */
  static ImgcacheConfig config(String originUrl, Map<String, Object> overrides) {
    Map<String, Object> settings = new HashMap<>();
    settings.put("imgcache.origin.url", originUrl);
    settings.put("imgcache.listen.host", "127.0.0.1");
    settings.put("imgcache.listen.port", 0);
    settings.put("imgcache.shutdown.deregister-wait", "0s"); // tests close many nodes
    // Only the ring identity: with no static peers the node owns every key.
    settings.put("imgcache.self-url", "http://127.0.0.1:19999");
    settings.put("imgcache.shutdown.drain-timeout", "2s");
    settings.putAll(overrides);
    return ImgcacheConfig.from(
        ConfigFactory.parseMap(settings).withFallback(ConfigFactory.defaultReference()).resolve());
  }

  int port() {
    return node.port();
  }

  URI uri(String target) {
    return URI.create("http://127.0.0.1:" + port() + target);
  }

  HttpRequest.Builder request(String target) {
    return HttpRequest.newBuilder(uri(target)).timeout(REQUEST_TIMEOUT);
  }

  HttpResponse<byte[]> get(String target, String... headers) {
    HttpRequest.Builder builder = request(target).GET();
    for (int i = 0; i < headers.length; i += 2) {
      builder.header(headers[i], headers[i + 1]);
    }
    return send(builder.build());
  }

  HttpResponse<byte[]> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new AssertionError(request.method() + " " + request.uri() + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  String text(String target) {
    HttpResponse<byte[]> response = get(target);
    if (response.statusCode() != 200) {
      fail(target + " answered " + response.statusCode());
    }
    return new String(response.body(), StandardCharsets.UTF_8);
  }

  /** Every request the origin received, oldest first. */
  List<LoggedRequest> originRequests() {
    return origin.findAll(WireMock.anyRequestedFor(WireMock.anyUrl()));
  }

  int originRequestCount() {
    return originRequests().size();
  }

  /**
   * Stops the node (its server, pools and worker) and the client's threads. The JDK 17 HttpClient
   * has no close(): its selector thread ends once the client is unreachable.
   */
  @Override
  public void close() {
    try {
      node.close();
    } finally {
      clientThreads.shutdownNow();
    }
  }

  // ---- helpers that need no node ----

  /** {@code n} bytes from a seeded generator: the same "image" on every run. */
  static byte[] randomBytes(long seed, int n) {
    byte[] bytes = new byte[n];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  /** Polls {@code condition} until it holds, failing with {@code what} after {@code timeout}. */
  static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("timed out after " + timeout.toMillis() + "ms waiting for: " + what);
      }
      try {
        // A poll interval, not a wait for the event itself.
        TimeUnit.MILLISECONDS.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
  }

  /** A loopback port nothing listens on (bound, then closed). */
  static int closedPort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * What came back on a raw connection. {@code status} is -1 when the server closed (or reset) the
   * connection without a status line; header names are lower-case.
   */
  record RawResponse(int status, Map<String, List<String>> headers, byte[] body, String closedBecause) {
    String header(String name) {
      List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
      return values == null ? null : values.get(0);
    }

    @Override
    public String toString() {
      return status < 0 ? "connection closed without a response (" + closedBecause + ")"
          : "HTTP " + status + " " + headers + " " + body.length + " body bytes: "
              + new String(body, 0, Math.min(body.length, 200), StandardCharsets.ISO_8859_1);
    }
  }

  /**
   * Writes {@code request} as is on a new connection and reads until the server closes it (send
   * {@code Connection: close}, or a request the server must drop). The body is everything after the
   * header block, undecoded.
   */
  RawResponse raw(byte[] request) {
    return raw(port(), request);
  }

  static RawResponse raw(int port, byte[] request) {
    ByteArrayOutputStream received = new ByteArrayOutputStream();
    String closedBecause = "EOF";
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      socket.setSoTimeout((int) REQUEST_TIMEOUT.toMillis());
      try {
        OutputStream out = socket.getOutputStream();
        out.write(request);
        out.flush();
      } catch (IOException e) {
        // The server may answer and close before it has read everything (a huge header).
        closedBecause = "write failed: " + e.getMessage();
      }
      try {
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[16 * 1024];
        for (int n; (n = in.read(buffer)) >= 0; ) {
          received.write(buffer, 0, n);
        }
      } catch (SocketTimeoutException e) {
        throw new AssertionError("no answer and no close within " + REQUEST_TIMEOUT, e);
      } catch (IOException e) {
        closedBecause = "read failed: " + e.getMessage();
      }
    } catch (IOException e) {
      throw new AssertionError("cannot connect to 127.0.0.1:" + port, e);
    }
    return parse(received.toByteArray(), closedBecause);
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  private static RawResponse parse(byte[] bytes, String closedBecause) {
    int end = indexOf(bytes, ascii("\r\n\r\n"));
    if (end < 0) {
      return new RawResponse(-1, Map.of(), bytes,
          closedBecause + ", " + bytes.length + " bytes without a header block");
    }
    String[] lines = new String(bytes, 0, end, StandardCharsets.ISO_8859_1).split("\r\n");
    String[] statusLine = lines[0].split(" ", 3);
    if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/")) {
      throw new AssertionError("not an HTTP response: " + lines[0]);
    }
    Map<String, List<String>> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.computeIfAbsent(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
          .add(lines[i].substring(colon + 1).trim());
    }
    byte[] body = Arrays.copyOfRange(bytes, end + 4, bytes.length);
    return new RawResponse(Integer.parseInt(statusLine[1]), headers, body, closedBecause);
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
