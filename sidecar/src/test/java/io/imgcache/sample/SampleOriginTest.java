package io.imgcache.sample;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.imgcache.sample.SampleRequest.Image;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SampleOriginTest {
  private final HttpClient client =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private SampleOrigin origin;

  @BeforeAll
  void start() {
    origin = SampleOrigin.start("127.0.0.1", 0, Duration.ZERO);
  }

  @AfterAll
  void stop() {
    origin.close();
  }

  @Test
  void sameUrlTwiceGivesIdenticalBytesAndEtag() throws Exception {
    String path = "/v2/image/png/003?w=850&h=200";

    HttpResponse<byte[]> first = get(origin, path);
    HttpResponse<byte[]> second = get(origin, path);

    assertEquals(200, first.statusCode());
    assertArrayEquals(first.body(), second.body());
    assertEquals(header(first, "etag"), header(second, "etag"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
    "/v2/image/png/003?w=850&h=200, image/png, png, 850, 200",
    "/v2/image/jpg/003?w=31&h=17, image/jpeg, jpeg, 31, 17",
    "/v2/image/gif/003?w=1&h=1, image/gif, gif, 1, 1",
    "/v2/image/png/003, image/png, png, 640, 480",
    "/v2/image/png/003?w=120&h=90&type=.jpg, image/jpeg, jpeg, 120, 90",
    "/v2/image/gif/003?w=120&h=90&type=.jpeg, image/jpeg, jpeg, 120, 90",
    "/v2/image/jpg/003?w=120&h=90&type=.png, image/png, png, 120, 90",
    "/v2/image/png/003?w=120&h=90&type=.gif, image/gif, gif, 120, 90",
    // No webp writer in the JDK: the path's format, labelled as what it is.
    "/v2/image/jpg/003?w=120&h=90&type=.webp, image/jpeg, jpeg, 120, 90",
    "/v2/image/png/003?w=120&h=90&type=.webp, image/png, png, 120, 90",
  })
  void servesARealImageOfTheRequestedSize(
      String path, String contentType, String decodedFormat, int width, int height)
      throws Exception {
    HttpResponse<byte[]> response = get(origin, path);

    assertEquals(200, response.statusCode());
    assertEquals(contentType, header(response, "content-type"));
    assertEquals(decodedFormat, formatOf(response.body()));
    BufferedImage image = ImageIO.read(new ByteArrayInputStream(response.body()));
    assertEquals(width, image.getWidth());
    assertEquals(height, image.getHeight());
  }

  @Test
  void headersDescribeTheBody() throws Exception {
    HttpResponse<byte[]> response = get(origin, "/v2/image/png/headers?w=50&h=40");

    assertEquals(String.valueOf(response.body().length), header(response, "content-length"));
    assertEquals(Body.of(response.body(), "image/png").etag(), header(response, "etag"));
    assertEquals("Mon, 02 Jan 2006 15:04:05 GMT", header(response, "last-modified"));
    assertEquals("public, max-age=86400", header(response, "cache-control"));
  }

  @Test
  void headHasTheHeadersOfGetAndNoBody() throws Exception {
    String path = "/v2/image/gif/head?w=70&h=30";
    HttpResponse<byte[]> got = get(origin, path);

    HttpResponse<byte[]> head = send(origin, "HEAD", path);

    assertEquals(200, head.statusCode());
    assertEquals(0, head.body().length);
    for (String name : List.of("content-type", "etag", "last-modified", "cache-control")) {
      assertEquals(header(got, name), header(head, name), name);
    }
    assertEquals(String.valueOf(got.body().length), header(head, "content-length"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"0", "1", "2047", "20000", "1000003"})
  void blobHasExactlyTheRequestedSize(int size) throws Exception {
    HttpResponse<byte[]> response = get(origin, "/v2/blob/bench?size=" + size);

    assertEquals(200, response.statusCode());
    assertEquals(size, response.body().length);
    assertEquals("application/octet-stream", header(response, "content-type"));
    assertArrayEquals(Renderer.blob("bench", size), response.body());
  }

  @ParameterizedTest(name = "{0} {1} -> {2}")
  @CsvSource({
    "GET, /, 404",
    "GET, /v2/image/bmp/003, 404",
    "GET, /v2/image/png/003/extra, 404",
    "GET, /v2/image/png/003?w=0, 400",
    "GET, /v2/image/png/003?w=4001, 400",
    "GET, /v2/image/png/003?h=abc, 400",
    "GET, /v2/image/png/003?type=.tiff, 400",
    "GET, /v2/blob/003, 400",
    "GET, /v2/blob/003?size=67108865, 400",
    "POST, /v2/image/png/003, 405",
    "PUT, /v2/blob/003?size=1, 405",
  })
  void refusals(String method, String path, int status) throws Exception {
    HttpResponse<byte[]> response = send(origin, method, path);

    assertEquals(status, response.statusCode());
    assertEquals("text/plain; charset=utf-8", header(response, "content-type"));
    String reason = new String(response.body(), UTF_8);
    assertTrue(reason.endsWith("\n") && reason.length() > 1, reason);
    if (status == 405) {
      assertEquals("GET, HEAD", header(response, "allow"));
    }
  }

  @Test
  void badParameterNamesTheValue() throws Exception {
    HttpResponse<byte[]> response = get(origin, "/v2/image/png/003?w=9000");

    assertEquals("w must be an integer in 1..4000, was 9000\n", new String(response.body(), UTF_8));
  }

  @Test
  void delayIsAppliedToEveryRequestIncludingMemoisedOnes() throws Exception {
    Duration delay = Duration.ofMillis(200);
    try (SampleOrigin slow = SampleOrigin.start("127.0.0.1", 0, delay)) {
      for (int i = 0; i < 2; i++) {
        long started = System.nanoTime();
        HttpResponse<byte[]> response = get(slow, "/v2/image/png/slow?w=10&h=10");
        Duration elapsed = Duration.ofNanos(System.nanoTime() - started);

        assertEquals(200, response.statusCode());
        assertTrue(elapsed.compareTo(delay) >= 0, "request " + i + " took " + elapsed);
      }
    }
  }

  @Test
  void concurrentRequestsGetTheRightBytes() throws Exception {
    List<String> segments = List.of("png", "jpg", "gif");
    List<Format> formats = List.of(Format.PNG, Format.JPEG, Format.GIF);
    try (SampleOrigin slow = SampleOrigin.start("127.0.0.1", 0, Duration.ofMillis(20))) {
      List<CompletableFuture<HttpResponse<byte[]>>> responses = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        String path = "/v2/image/" + segments.get(i % 3) + "/c" + i % 7 + "?w=64&h=48";
        responses.add(client.sendAsync(request(slow, "GET", path), BodyHandlers.ofByteArray()));
      }

      for (int i = 0; i < responses.size(); i++) {
        HttpResponse<byte[]> response = responses.get(i).get(30, TimeUnit.SECONDS);
        Body expected = Renderer.render(new Image("c" + i % 7, 64, 48, formats.get(i % 3)));
        assertEquals(200, response.statusCode(), response.uri().toString());
        assertArrayEquals(expected.bytes(), response.body(), response.uri().toString());
      }
    }
  }

  @Test
  void keepsTheConnectionAlive() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", origin.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      InputStream in = socket.getInputStream();
      for (int size : new int[] {5, 3000, 0}) {
        String request = "GET /v2/blob/ka?size=" + size + " HTTP/1.1\r\nHost: test\r\n\r\n";
        out.write(request.getBytes(US_ASCII));
        out.flush();

        String head = readHead(in);
        assertTrue(head.startsWith("HTTP/1.1 200 "), head);
        int length = contentLength(head);
        assertEquals(size, length);
        assertArrayEquals(Renderer.blob("ka", size), in.readNBytes(length));
      }
    }
  }

  @Test
  void closeStopsListeningAndLeavesNoThreadBehind() throws Exception {
    SampleOrigin closing = SampleOrigin.start("127.0.0.1", 0, Duration.ofMillis(1));
    int port = closing.port();
    String threadPrefix = closing.workerName() + " ";
    assertEquals(200, get(closing, "/v2/image/jpg/closing?w=20&h=20").statusCode());
    assertTrue(liveThreads(threadPrefix) > 0, "no thread named " + threadPrefix + "...");

    closing.close();
    closing.close();

    assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close());
    awaitNoLiveThreads(threadPrefix);
  }

  @Test
  void closeDoesNotWaitForRequestsStillInTheirDelay() throws Exception {
    SampleOrigin closing = SampleOrigin.start("127.0.0.1", 0, Duration.ofHours(1));
    String threadPrefix = closing.workerName() + " ";
    try (Socket socket = new Socket("127.0.0.1", closing.port())) {
      socket.setSoTimeout(30_000);
      String request = "GET /v2/blob/p?size=1 HTTP/1.1\r\nHost: t\r\n\r\n";
      socket.getOutputStream().write(request.getBytes(US_ASCII));
      socket.getOutputStream().flush();
      awaitRequestCount(closing, 1);

      closing.close();

      // The request ends unanswered. Undertow answers 503 itself in the microseconds between
      // counting a request and scheduling its delay, if close() lands there.
      try {
        String answer = new String(socket.getInputStream().readAllBytes(), US_ASCII);
        assertTrue(answer.isEmpty() || answer.startsWith("HTTP/1.1 503 "), answer);
      } catch (SocketException reset) {
        // Also unanswered.
      }
    }
    awaitNoLiveThreads(threadPrefix);
  }

  @Test
  void requestCountCountsEveryArrival() throws Exception {
    try (SampleOrigin counted = SampleOrigin.start("127.0.0.1", 0, Duration.ZERO)) {
      get(counted, "/v2/blob/n?size=1");
      get(counted, "/v2/blob/n?size=1");
      get(counted, "/nowhere");
      send(counted, "HEAD", "/v2/image/png/n?w=3&h=3");

      assertEquals(4, counted.requestCount());
    }
  }

  @Test
  void failingToBindLeavesNoThreadBehind() throws Exception {
    Set<String> before = xnioWorkerNames();

    int taken = origin.port();
    assertThrows(
        RuntimeException.class, () -> SampleOrigin.start("127.0.0.1", taken, Duration.ZERO));

    Set<String> leaked = new HashSet<>(xnioWorkerNames());
    leaked.removeAll(before);
    for (String worker : leaked) {
      awaitNoLiveThreads(worker + " ");
    }
  }

  @Test
  void portZeroPicksAFreePort() {
    assertTrue(origin.port() > 0, "port " + origin.port());
  }

  @Test
  void startRejectsBadArguments() {
    IllegalArgumentException port =
        assertThrows(
            IllegalArgumentException.class,
            () -> SampleOrigin.start("127.0.0.1", 65536, Duration.ZERO));
    assertEquals("port must be in 0..65535, was 65536", port.getMessage());
    IllegalArgumentException delay =
        assertThrows(
            IllegalArgumentException.class,
            () -> SampleOrigin.start("127.0.0.1", 0, Duration.ofMillis(-1)));
    assertEquals("delay must not be negative, was PT-0.001S", delay.getMessage());
  }

  private HttpResponse<byte[]> get(SampleOrigin target, String path) throws Exception {
    return send(target, "GET", path);
  }

  private HttpResponse<byte[]> send(SampleOrigin target, String method, String path)
      throws Exception {
    return client.send(request(target, method, path), BodyHandlers.ofByteArray());
  }

  private static HttpRequest request(SampleOrigin target, String method, String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + target.port() + path))
        .method(method, HttpRequest.BodyPublishers.noBody())
        .timeout(Duration.ofSeconds(30))
        .build();
  }

  private static String header(HttpResponse<?> response, String name) {
    return response.headers().firstValue(name).orElse(null);
  }

  /** The ImageIO format name of an encoded image, lower-cased. */
  private static String formatOf(byte[] encoded) throws IOException {
    try (var in = ImageIO.createImageInputStream(new ByteArrayInputStream(encoded))) {
      var readers = ImageIO.getImageReaders(in);
      assertTrue(readers.hasNext(), "no ImageIO reader recognises the body");
      return readers.next().getFormatName().toLowerCase(Locale.ROOT);
    }
  }

  /** Reads a response head up to and including the blank line. */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (true) {
      int b = in.read();
      if (b < 0) {
        fail("connection closed after " + head.toString(US_ASCII));
      }
      head.write(b);
      if (head.toString(US_ASCII).endsWith("\r\n\r\n")) {
        return head.toString(US_ASCII);
      }
    }
  }

  private static int contentLength(String head) {
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        return Integer.parseInt(line.substring("content-length:".length()).trim());
      }
    }
    throw new AssertionError("no Content-Length in " + head);
  }

  private static void awaitRequestCount(SampleOrigin target, long count)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (target.requestCount() < count) {
      if (System.nanoTime() > deadline) {
        fail("requestCount() still " + target.requestCount() + ", expected " + count);
      }
      Thread.sleep(10);
    }
  }

  /** Polls until no live thread's name starts with {@code prefix}; fails after 10 s. */
  private static void awaitNoLiveThreads(String prefix) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (liveThreads(prefix) > 0) {
      if (System.nanoTime() > deadline) {
        fail("threads still alive after close: " + threadNames(prefix));
      }
      Thread.sleep(10);
    }
  }

  /** Names of the XNIO workers with live threads ({@code XNIO-3} for {@code XNIO-3 task-1}). */
  private static Set<String> xnioWorkerNames() {
    return Thread.getAllStackTraces().keySet().stream()
        .map(Thread::getName)
        .filter(name -> name.startsWith("XNIO-") && name.indexOf(' ') > 0)
        .map(name -> name.substring(0, name.indexOf(' ')))
        .collect(Collectors.toSet());
  }

  private static long liveThreads(String prefix) {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith(prefix))
        .count();
  }

  private static List<String> threadNames(String prefix) {
    return Thread.getAllStackTraces().keySet().stream()
        .map(Thread::getName)
        .filter(name -> name.startsWith(prefix))
        .toList();
  }
}
