package io.imgcache.peer;

import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.WireMock;
import com.typesafe.config.ConfigFactory;
import io.imgcache.Node;
import io.imgcache.config.ImgcacheConfig;
import io.imgcache.key.KeyPolicy;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test fixture: several {@link Node}s in this JVM on loopback ports that were free a moment before,
 * with static membership and one shared WireMock origin (so WireMock's request log counts the
 * cluster's origin loads), and an HTTP/1.1 client to talk to them. Not thread-safe except for
 * {@link #get}; one per test. {@link #close} stops every node it started and the client's threads;
 * the WireMock server belongs to the test class.
 *
 * <p>The health monitor is parked (probe every minute, 100 failures to drop a peer): these tests
 * are about the request path with a fixed ring, and a monitor that reacts to a node started a few
 * milliseconds after its peers, or to deliberate fallbacks, would change the ring under them.
 */
final class LocalCluster implements AutoCloseable {
  /** Every request gives up after this: a hang is a failure, not a stuck build. */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(20);
  /** The nodes' key policy with the reference defaults, to compute the keys the nodes compute. */
  static final KeyPolicy KEYS = new KeyPolicy(true, List.of(), 2048);
  static final String GROUP = "imgcache2";

  final WireMockServer origin;
  final String originUrl;
  private final List<Node> nodes = new ArrayList<>(); // every node started, closed by close()
  private final ExecutorService clientThreads;
  final HttpClient http;

  LocalCluster(WireMockServer origin) {
    this.origin = origin;
    // Not baseUrl(): that says "localhost", which may resolve to ::1 where WireMock does not listen.
    this.originUrl = "http://127.0.0.1:" + origin.port();
    this.clientThreads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "test-http-client");
      t.setDaemon(true);
      return t;
    });
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .executor(clientThreads)
        .connectTimeout(Duration.ofSeconds(5))
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
  }

  /** A WireMock origin on a free loopback port. The caller stops it. */
  static WireMockServer startOrigin() {
    WireMockServer server = new WireMockServer(wireMockConfig()
        .bindAddress("127.0.0.1")
        .dynamicPort()
        .containerThreads(200)
        .jettyAcceptQueueSize(1024)
        .jettyStopTimeout(2000L));
    server.start();
    return server;
  }

  /**
   * Starts {@code n} nodes that all list all of them ({@code peers.static}), each with {@code
   * overrides} over the test defaults. Ports are picked free, then bound by the nodes: if another
   * process takes one in between, the whole cluster is retried on new ports.
   */
  List<Node> start(int n, Map<String, Object> overrides) {
    RuntimeException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      int[] ports = freePorts(n);
      List<String> urls = new ArrayList<>();
      for (int port : ports) {
        urls.add(url(port));
      }
      List<Node> started = new ArrayList<>();
      try {
        for (int port : ports) {
          started.add(startNode(port, urls, overrides));
        }
        return started;
      } catch (RuntimeException e) {
        last = e;
        started.forEach(Node::close);
        nodes.removeAll(started);
      }
    }
    throw new AssertionError("cannot start a " + n + "-node cluster", last);
  }

  /** Starts one node on {@code port} whose static member list is {@code members}. */
  Node startNode(int port, List<String> members, Map<String, Object> overrides) {
    Node node = Node.start(config(port, members, overrides));
    nodes.add(node);
    return node;
  }

  ImgcacheConfig config(int port, List<String> members, Map<String, Object> overrides) {
    Map<String, Object> settings = new HashMap<>();
    settings.put("imgcache.listen.host", "127.0.0.1");
    settings.put("imgcache.listen.port", port);
    settings.put("imgcache.shutdown.deregister-wait", "0s"); // tests close many nodes
    settings.put("imgcache.self-url", url(port));
    settings.put("imgcache.origin.url", originUrl);
    settings.put("imgcache.membership", "static");
    settings.put("imgcache.peers.static", members);
    settings.put("imgcache.health.interval", "60s");
    settings.put("imgcache.health.unhealthy-threshold", 100);
    settings.put("imgcache.shutdown.drain-timeout", "2s");
    settings.putAll(overrides);
    return ImgcacheConfig.from(
        ConfigFactory.parseMap(settings).withFallback(ConfigFactory.defaultReference()).resolve());
  }

  static String url(int port) {
    return "http://127.0.0.1:" + port;
  }

  static String url(Node node) {
    return node.cluster().self();
  }

  /** {@code n} distinct loopback ports, each free when this returns (bound together, then closed). */
  static int[] freePorts(int n) {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        ServerSocket socket = new ServerSocket();
        socket.setReuseAddress(true);
        socket.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        sockets.add(socket);
      }
      return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
    } catch (IOException e) {
      throw new AssertionError("no free loopback ports", e);
    } finally {
      for (ServerSocket socket : sockets) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // closing a bound socket does not fail in practice; nothing to do
        }
      }
    }
  }

  // ---- keys and ownership ----

  /** The cache key the nodes compute for {@code target} (path and optional query, still encoded). */
  static String keyOf(String target) {
    int q = target.indexOf('?');
    return q < 0 ? KEYS.keyFor(target, null) : KEYS.keyFor(target.substring(0, q), target.substring(q + 1));
  }

  /** The node that {@code asSeenBy}'s ring says owns {@code key}. */
  static String ownerUrl(Node asSeenBy, String key) {
    return asSeenBy.cluster().snapshot().ring().owner(key);
  }

  /** The node among {@code nodes} that owns {@code key} (their rings agree). */
  static Node owner(List<Node> nodes, String key) {
    String url = ownerUrl(nodes.get(0), key);
    return nodes.stream().filter(n -> url(n).equals(url)).findFirst().orElseThrow();
  }

  /** A node among {@code nodes} that does not own {@code key}. */
  static Node nonOwner(List<Node> nodes, String key) {
    String url = ownerUrl(nodes.get(0), key);
    return nodes.stream().filter(n -> !url(n).equals(url)).findFirst().orElseThrow();
  }

  /**
   * {@code count} targets {@code prefix + i} whose key {@code owner} owns in {@code asSeenBy}'s
   * ring.
   */
  static List<String> targetsOwnedBy(Node asSeenBy, Node owner, String prefix, int count) {
    List<String> out = new ArrayList<>();
    for (int i = 0; out.size() < count; i++) {
      if (i > 100_000) {
        throw new AssertionError("no " + count + " keys owned by " + url(owner));
      }
      String target = prefix + i;
      if (ownerUrl(asSeenBy, keyOf(target)).equals(url(owner))) {
        out.add(target);
      }
    }
    return out;
  }

  // ---- the origin ----

  /** {@code n} bytes from a seeded generator: a distinct, reproducible "image". */
  static byte[] randomBytes(long seed, int n) {
    byte[] bytes = new byte[n];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  /**
   * Makes the origin answer {@code GET target} (matched on the exact raw URL) with a random body of
   * a few KiB derived from {@code seed}, after {@code delayMillis}; returns the body.
   */
  byte[] stub(String target, long seed, int delayMillis) {
    return stub(target, seed, delayMillis, 1024 + (int) Math.floorMod(seed * 7919, 4096L));
  }

  /** {@link #stub(String, long, int)} with a body of {@code size} bytes. */
  byte[] stub(String target, long seed, int delayMillis, int size) {
    byte[] body = randomBytes(seed, size);
    origin.stubFor(WireMock.get(WireMock.urlEqualTo(target)).willReturn(WireMock.aResponse()
        .withStatus(200)
        .withHeader("Content-Type", "image/png")
        .withHeader("ETag", "\"" + seed + "\"")
        .withHeader("Cache-Control", "public, max-age=3600")
        .withBody(body)
        .withFixedDelay(delayMillis)));
    return body;
  }

  /** How many requests the origin received for exactly {@code target}. */
  int originRequests(String target) {
    return origin.findAll(WireMock.getRequestedFor(WireMock.urlEqualTo(target))).size();
  }

  /** How many requests the origin received in all. */
  int originRequests() {
    return origin.findAll(WireMock.anyRequestedFor(WireMock.anyUrl())).size();
  }

  // ---- talking to nodes ----

  static URI uri(Node node, String target) {
    return URI.create(url(node) + target);
  }

  HttpResponse<byte[]> get(Node node, String target, String... headers) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(uri(node, target)).timeout(REQUEST_TIMEOUT).GET();
    for (int i = 0; i < headers.length; i += 2) {
      builder.header(headers[i], headers[i + 1]);
    }
    HttpRequest request = builder.build();
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new AssertionError("GET " + request.uri() + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  static String xCache(HttpResponse<?> response) {
    return response.headers().firstValue("X-Cache").orElse(null);
  }

  /** Asserts a 200 with exactly {@code body}, answered as {@code xCache}. */
  static void assertAnswer(byte[] body, String xCache, HttpResponse<byte[]> response) {
    String what = response.request().uri() + " (X-Cache " + xCache(response) + ")";
    assertEquals(200, response.statusCode(), () -> what + " answered " + response.statusCode() + ": "
        + new String(response.body(), 0, Math.min(200, response.body().length), StandardCharsets.ISO_8859_1));
    assertEquals(xCache, xCache(response), what);
    assertEquals("image/png", response.headers().firstValue("Content-Type").orElse(null), what);
    assertArrayEquals(body, response.body(), () -> what + ": body differs from the origin's");
  }

  String text(Node node, String target) {
    HttpResponse<byte[]> response = get(node, target);
    if (response.statusCode() != 200) {
      fail(target + " answered " + response.statusCode());
    }
    return new String(response.body(), StandardCharsets.UTF_8);
  }

  /**
   * The value of one series in {@code node}'s {@code /_imgcache/metrics}: {@code name} with every label in
   * {@code labels} (alternating name, value); 0 when there is no such series yet.
   */
  double metric(Node node, String name, String... labels) {
    double found = 0;
    boolean seen = false;
    for (String line : text(node, "/_imgcache/metrics").split("\n")) {
      if (line.startsWith("#") || !(line.startsWith(name + "{") || line.startsWith(name + " "))) {
        continue;
      }
      boolean all = true;
      for (int i = 0; i < labels.length; i += 2) {
        all &= line.contains(labels[i] + "=\"" + labels[i + 1] + "\"");
      }
      if (all) {
        if (seen) {
          throw new AssertionError("more than one series of " + name + " matches " + List.of(labels));
        }
        seen = true;
        found = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return found;
  }

  private static final Pattern CACHE_ENTRY = Pattern.compile(
      "\\{\\s*\"labels\"\\s*:\\s*\\{\\s*\"cache\"\\s*:\\s*\"([a-z]+)\"\\s*}\\s*,\\s*\"value\"\\s*:\\s*([0-9.eE+-]+)\\s*}");

  /** {@code imgcache_cache_entries} of {@code cache} ("main" or "hot"), from {@code /_imgcache/stats}. */
  long cacheEntries(Node node, String cache) {
    String json = text(node, "/_imgcache/stats");
    int start = json.indexOf("\"imgcache_cache_entries\"");
    if (start < 0) {
      throw new AssertionError("no imgcache_cache_entries in /_imgcache/stats: " + json);
    }
    Matcher m = CACHE_ENTRY.matcher(json.substring(start, json.indexOf(']', start) + 1));
    while (m.find()) {
      if (m.group(1).equals(cache)) {
        return (long) Double.parseDouble(m.group(2));
      }
    }
    throw new AssertionError("no cache=" + cache + " in imgcache_cache_entries: " + json);
  }

  /** Polls {@code condition} until it holds, failing with {@code what} after {@code timeout}. */
  static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("timed out after " + timeout.toMillis() + "ms waiting for: " + what);
      }
      try {
        TimeUnit.MILLISECONDS.sleep(10); // a poll interval, not a wait for the event itself
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
  }

  /** Stops {@code node} (blocks until it has) and forgets it. */
  void stop(Node node) {
    node.close();
    nodes.remove(node);
  }

  /** Stops every node started through this fixture, then the client's threads. */
  @Override
  public void close() {
    try {
      // In parallel: each close drains for up to shutdown.drain-timeout.
      List<Thread> closers = new ArrayList<>();
      for (Node node : nodes) {
        Thread t = new Thread(node::close, "test-node-close");
        t.start();
        closers.add(t);
      }
      for (Thread t : closers) {
        t.join(TimeUnit.SECONDS.toMillis(30));
      }
      nodes.clear();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      clientThreads.shutdownNow();
    }
  }
}
