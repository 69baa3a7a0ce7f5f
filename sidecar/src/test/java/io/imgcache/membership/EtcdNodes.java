package io.imgcache.membership;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.fail;

import com.typesafe.config.ConfigFactory;
import io.imgcache.Node;
import io.imgcache.config.ImgcacheConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test fixture: {@link Node}s in this JVM with {@code membership = etcd} against an {@link
 * EtcdCluster}, on loopback ports, plus an HTTP/1.1 client to talk to them and etcdctl readers of
 * what they registered. One per test; not thread-safe except {@link #get}. {@link #close} stops
 * every node started through it (in parallel: each waits its deregister-wait) and the client's
 * threads; the etcd cluster and the origin belong to the test class.
 */
final class EtcdNodes implements AutoCloseable {
  static final String PREFIX = "/imgcache2/nodes/";
  /** Every request gives up after this: a hang is a failure, not a stuck build. */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(20);
  private static final Pattern LEASE = Pattern.compile("\"lease\":(\\d+)");
  private static final Pattern GRANTED_TTL = Pattern.compile("granted with TTL\\((\\d+)s\\)");

  private final EtcdCluster etcd;
  private final String originUrl;
  private final List<Node> nodes = new ArrayList<>(); // started and not yet stopped
  private final ExecutorService clientThreads;
  final HttpClient http;

  EtcdNodes(EtcdCluster etcd, String originUrl) {
    this.etcd = etcd;
    this.originUrl = originUrl;
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

  /** Removes every registration, ban and lease a previous test may have left behind. */
  static void wipe(EtcdCluster etcd) {
    etcd.etcdctl("del", "--prefix", PREFIX).checkOk();
    etcd.etcdctl("del", "--prefix", "/imgcache2/bans/").checkOk();
    for (long lease : leases(etcd)) {
      etcd.etcdctl("lease", "revoke", Long.toHexString(lease)); // may have expired meanwhile
    }
  }

  // ---- nodes ----

  /** Starts a node with the test defaults and {@code overrides}; retries on a port taken meanwhile. */
  Node start(Map<String, Object> overrides) {
    RuntimeException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      int port = freePort();
      try {
        return start(port, overrides);
      } catch (RuntimeException e) {
        last = e;
      }
    }
    throw new AssertionError("cannot start a node", last);
  }

  /** Starts a node on {@code port} with the test defaults and {@code overrides}. */
  Node start(int port, Map<String, Object> overrides) {
    Node node = Node.start(config(port, overrides));
    nodes.add(node);
    return node;
  }

  ImgcacheConfig config(int port, Map<String, Object> overrides) {
    Map<String, Object> settings = new HashMap<>();
    settings.put("imgcache.listen.host", "127.0.0.1");
    settings.put("imgcache.listen.port", port);
    settings.put("imgcache.self-url", url(port));
    settings.put("imgcache.origin.url", originUrl);
    settings.put("imgcache.membership", "etcd");
    settings.put("imgcache.etcd.endpoints", etcd.endpoints());
    settings.put("imgcache.shutdown.deregister-wait", "200ms");
    settings.put("imgcache.shutdown.drain-timeout", "2s");
    settings.putAll(overrides);
    return ImgcacheConfig.from(
        ConfigFactory.parseMap(settings).withFallback(ConfigFactory.defaultReference()).resolve());
  }

  /** Closes {@code node} on a new thread, so the caller can watch the others meanwhile. */
  Thread stopInBackground(Node node) {
    nodes.remove(node);
    Thread t = new Thread(node::close, "test-node-close");
    t.start();
    return t;
  }

  static String url(int port) {
    return "http://127.0.0.1:" + port;
  }

  static String url(Node node) {
    return node.cluster().self();
  }

  /** The etcd key {@code node} registers under (the Go deployment's layout). */
  static String key(Node node) {
    return PREFIX + url(node).replace('/', '_');
  }

  static Set<String> ring(Node node) {
    return node.cluster().snapshot().ring().members();
  }

  /** A loopback port that was free a moment ago. */
  static int freePort() {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new AssertionError("no free loopback port", e);
    }
  }

  // ---- etcd, read with etcdctl ----

  /** Every key under {@link #PREFIX} with its value, sorted by key. */
  Map<String, String> registrations() {
    return registrations(etcd);
  }

  static Map<String, String> registrations(EtcdCluster etcd) {
    String[] lines = etcd.etcdctl("get", "--prefix", PREFIX).checkOk().stdout().split("\n");
    Map<String, String> out = new TreeMap<>();
    for (int i = 0; i + 1 < lines.length; i += 2) {
      out.put(lines[i], lines[i + 1]);
    }
    return out;
  }

  /** The lease {@code key} is attached to; 0 when it has none or does not exist. */
  long leaseOf(String key) {
    Matcher m = LEASE.matcher(etcd.etcdctl("get", key, "-w", "json").checkOk().stdout());
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }

  /** The TTL {@code lease} was granted with, in seconds ({@code etcdctl lease timetolive}). */
  long grantedTtlSeconds(long lease) {
    EtcdctlResult result = etcd.etcdctl("lease", "timetolive", Long.toHexString(lease)).checkOk();
    Matcher m = GRANTED_TTL.matcher(result.stdout());
    if (!m.find()) {
      throw new AssertionError("no granted TTL in " + result);
    }
    return Long.parseLong(m.group(1));
  }

  /** Every lease etcd holds ({@code etcdctl lease list}). */
  List<Long> leases() {
    return leases(etcd);
  }

  static List<Long> leases(EtcdCluster etcd) {
    List<Long> out = new ArrayList<>();
    for (String line : etcd.etcdctl("lease", "list").checkOk().stdout().split("\n")) {
      String s = line.strip();
      if (!s.isEmpty() && !s.startsWith("found")) {
        out.add(Long.parseUnsignedLong(s, 16));
      }
    }
    return out;
  }

  /** Registration key → lease of every key under {@link #PREFIX}. */
  Map<String, Long> leasesByKey() {
    Map<String, Long> out = new LinkedHashMap<>();
    for (String key : registrations().keySet()) {
      out.put(key, leaseOf(key));
    }
    return out;
  }

  // ---- HTTP ----

  HttpResponse<byte[]> get(String url) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(REQUEST_TIMEOUT).GET().build();
    return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
  }

  HttpResponse<byte[]> get(Node node, String target) throws IOException, InterruptedException {
    return get(url(node) + target);
  }

  /** The body of a 200 answer to {@code GET url}; fails on anything else. */
  byte[] body(String url) {
    try {
      HttpResponse<byte[]> response = get(url);
      if (response.statusCode() != 200) {
        fail("GET " + url + " answered " + response.statusCode() + ": " + new String(response.body(), UTF_8));
      }
      return response.body();
    } catch (IOException e) {
      throw new AssertionError("GET " + url + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** {@code node}'s {@code GET /_imgcache/cache?key=target}: whether it holds the key in main, hot. */
  boolean[] holding(Node node, String target) {
    String json = new String(body(url(node) + "/_imgcache/cache?key=" + URLEncoder.encode(target, UTF_8)), UTF_8);
    return new boolean[] {flag(json, "main"), flag(json, "hot")};
  }

  private static boolean flag(String json, String name) {
    Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*(true|false)").matcher(json);
    if (!m.find()) {
      throw new AssertionError("no \"" + name + "\" in " + json);
    }
    return Boolean.parseBoolean(m.group(1));
  }

  /**
   * The value of one series in {@code node}'s metrics (the text {@code /_imgcache/metrics} serves): {@code
   * name} with every label in {@code labels} (alternating name, value); 0 when there is none yet.
   */
  static double metric(Node node, String name, String... labels) {
    double found = 0;
    for (String line : new String(node.metrics().text(), UTF_8).split("\n")) {
      if (line.startsWith("#") || !(line.startsWith(name + "{") || line.startsWith(name + " "))) {
        continue;
      }
      boolean all = true;
      for (int i = 0; i < labels.length; i += 2) {
        all &= line.contains(labels[i] + "=\"" + labels[i + 1] + "\"");
      }
      if (all) {
        found = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return found;
  }

  // ---- waiting ----

  /**
   * Polls {@code condition} until it holds and returns how long that took, failing with {@code
   * what} after {@code timeout}.
   */
  static Duration await(String what, Duration timeout, BooleanSupplier condition) {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("timed out after " + timeout.toMillis() + "ms waiting for: " + what);
      }
      pause(10); // a poll interval, not a wait for the event itself
    }
    return Duration.ofNanos(System.nanoTime() - start);
  }

  static void pause(long millis) {
    try {
      TimeUnit.MILLISECONDS.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** Stops every node still running, in parallel, then the client's threads. */
  @Override
  public void close() {
    try {
      List<Thread> closers = new ArrayList<>();
      for (Node node : List.copyOf(nodes)) {
        closers.add(stopInBackground(node));
      }
      for (Thread t : closers) {
        t.join(TimeUnit.SECONDS.toMillis(30));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      clientThreads.shutdownNow();
    }
  }
}
