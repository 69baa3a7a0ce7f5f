package io.imgcache.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.net.httpserver.HttpServer;
import com.typesafe.config.ConfigFactory;
import io.imgcache.Node;
import io.imgcache.config.ImgcacheConfig;
import io.imgcache.config.InvalidConfigException;
import io.imgcache.httpclient.PoolSettings;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.key.KeyPolicy;
import io.imgcache.ring.Cluster;
import io.imgcache.sample.SampleOrigin;
import io.undertow.Undertow;
import io.undertow.server.DefaultByteBufferPool;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.xnio.OptionMap;
import org.xnio.Xnio;
import org.xnio.XnioWorker;

/**
 * DESIGN §7's health monitor: active probes drop a dead peer from every other node's ring within
 * interval × unhealthy-threshold + timeout and bring it back after healthy-threshold probes; passive
 * failure reports drop it without waiting for a probe; self never leaves; and start-up refuses a
 * config whose drop time is not below the etcd lease TTL.
 */
class HealthMonitorTest {
  private static final Duration INTERVAL = Duration.ofMillis(200);
  private static final Duration TIMEOUT = Duration.ofMillis(100);
  private static final int UNHEALTHY = 3;
  private static final int HEALTHY = 2;
  /** The bound on noticing a dead peer: interval × threshold + timeout + 1 s. */
  private static final Duration DROP_BOUND = INTERVAL.multipliedBy(UNHEALTHY).plus(TIMEOUT).plusSeconds(1);
  /** The same for a peer that came back: interval × healthy threshold + timeout + 1 s. */
  private static final Duration RETURN_BOUND = INTERVAL.multipliedBy(HEALTHY).plus(TIMEOUT).plusSeconds(1);
  private static final Map<String, Object> FAST_HEALTH = Map.of(
      "imgcache.health.interval", INTERVAL.toMillis() + "ms",
      "imgcache.health.timeout", TIMEOUT.toMillis() + "ms",
      "imgcache.health.unhealthy-threshold", UNHEALTHY,
      "imgcache.health.healthy-threshold", HEALTHY);
  private static final KeyPolicy KEYS = new KeyPolicy(true, List.of(), 2048);

  private final List<AutoCloseable> resources = new ArrayList<>(); // closed in reverse order
  private final List<Node> nodes = new CopyOnWriteArrayList<>(); // running nodes

  @AfterEach
  void closeEverything() throws Exception {
    for (Node n : nodes) {
      n.close();
    }
    nodes.clear();
    Exception failure = null;
    for (int i = resources.size() - 1; i >= 0; i--) {
      try {
        resources.get(i).close();
      } catch (Exception e) {
        failure = failure == null ? e : failure;
      }
    }
    resources.clear();
    if (failure != null) {
      throw failure;
    }
  }

  // ---- active probes ----

  @Test
  void deadPeerLeavesEveryOtherRingAndReturnsAfterARestartOnTheSamePort() {
    int[] ports = freePorts(3);
    List<String> urls = List.of(url(ports[0]), url(ports[1]), url(ports[2]));
    Node a = start(ports[0], urls, FAST_HEALTH);
    Node b = start(ports[1], urls, FAST_HEALTH);
    Node c = start(ports[2], urls, FAST_HEALTH);
    // A probed B and C before they listened: wait until every view is whole, then watch it stay whole
    // for a probe round, so that no failure counted at start-up shortens the drop measured below.
    BooleanSupplier whole = () -> Stream.of(a, b, c).allMatch(n -> live(n).equals(Set.copyOf(urls)));
    awaitSteady("every node sees all three healthy", Duration.ofSeconds(10), INTERVAL.plus(TIMEOUT).plus(INTERVAL),
        whole);

    long closeStart = System.nanoTime();
    stop(c);
    awaitSelfStays(List.of(a, b), "C unhealthy on A and B", DROP_BOUND.plusSeconds(5),
        () -> Stream.of(a, b).allMatch(n -> n.cluster().snapshot().unhealthy().equals(Set.of(url(ports[2])))));
    long dropMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closeStart);
    System.out.printf("health: a closed peer left every other ring %d ms after close() began (bound %d ms ="
        + " interval × %d + timeout + 1 s)%n", dropMillis, DROP_BOUND.toMillis(), UNHEALTHY);
    assertTrue(dropMillis <= DROP_BOUND.toMillis(), "drop took " + dropMillis + " ms");
    for (Node n : List.of(a, b)) {
      Cluster.Snapshot s = n.cluster().snapshot();
      assertEquals(Set.copyOf(urls), s.members(), "C stays a member, only out of the ring");
      assertEquals(Set.of(url(a), url(b)), s.ring().members());
    }

    long restartStart = System.nanoTime();
    Node c2 = start(ports[2], urls, FAST_HEALTH);
    awaitSelfStays(List.of(a, b, c2), "C back in every ring", RETURN_BOUND.plusSeconds(5),
        () -> Stream.of(a, b, c2).allMatch(n -> live(n).equals(Set.copyOf(urls))));
    long returnMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartStart);
    System.out.printf("health: the restarted peer was back in every ring %d ms after Node.start (bound %d ms)%n",
        returnMillis, RETURN_BOUND.toMillis());
    assertTrue(returnMillis <= RETURN_BOUND.toMillis(), "return took " + returnMillis + " ms");
  }

  @Test
  void selfStaysInItsOwnRingWhenEveryPeerIsDead() {
    int[] ports = freePorts(3);
    List<String> urls = List.of(url(ports[0]), url(ports[1]), url(ports[2])); // only A ever runs
    Node a = start(ports[0], urls, FAST_HEALTH);
    awaitSelfStays(List.of(a), "both peers unhealthy on A", DROP_BOUND.plusSeconds(5),
        () -> a.cluster().snapshot().unhealthy().equals(Set.of(urls.get(1), urls.get(2))));
    assertEquals(Set.of(url(a)), a.cluster().snapshot().ring().members());
  }

  // ---- passive reports ----

  /**
   * {@link HealthMonitor#reportFailure} alone, no probe ever sent (the monitor is not started): the
   * peer drops on exactly the N-th report. Reports are handled in order on the monitor's thread, so a
   * fence peer's drop, reported after the other reports, proves those were handled.
   */
  @Test
  void passiveReportsDropAPeerOnExactlyTheNthReportWithoutProbes() {
    String self = "http://127.0.0.1:1";
    String peer = "http://127.0.0.1:2";
    String fence1 = "http://127.0.0.1:3";
    String fence2 = "http://127.0.0.1:4";
    Cluster cluster = new Cluster(self, 160, System::nanoTime);
    cluster.setMembers(List.of(self, peer, fence1, fence2));
    List<String> transitions = new CopyOnWriteArrayList<>();
    HealthMonitor monitor = new HealthMonitor(cluster, probeClient(), Duration.ofHours(1), TIMEOUT, UNHEALTHY,
        HEALTHY, new HealthMonitor.Listener() {
          @Override
          public void transition(String p, boolean healthy) {
            transitions.add(p + (healthy ? " healthy" : " unhealthy"));
          }
        });
    resources.add(monitor);

    report(monitor, peer, UNHEALTHY - 1);
    report(monitor, fence1, UNHEALTHY);
    await("fence 1 unhealthy", Duration.ofSeconds(5), () -> cluster.snapshot().unhealthy().contains(fence1));
    assertFalse(cluster.snapshot().unhealthy().contains(peer), (UNHEALTHY - 1) + " reports are not enough");

    report(monitor, peer, 1);
    await("the peer unhealthy after report " + UNHEALTHY, Duration.ofSeconds(5),
        () -> cluster.snapshot().unhealthy().contains(peer));

    report(monitor, self, UNHEALTHY); // self never leaves, whatever is reported
    report(monitor, "http://127.0.0.1:5", UNHEALTHY); // a non-member is not tracked
    report(monitor, fence2, UNHEALTHY);
    await("fence 2 unhealthy", Duration.ofSeconds(5), () -> cluster.snapshot().unhealthy().contains(fence2));
    assertEquals(Set.of(peer, fence1, fence2), cluster.snapshot().unhealthy());
    assertEquals(Set.of(self), cluster.snapshot().ring().members());
    assertEquals(List.of(fence1 + " unhealthy", peer + " unhealthy", fence2 + " unhealthy"), transitions);
  }

  private static void report(HealthMonitor monitor, String peer, int times) {
    for (int i = 0; i < times; i++) {
      monitor.reportFailure(peer);
    }
  }

  /**
   * Real peer fetches that fail report the owner: with probes a minute apart, a dead owner leaves the
   * ring after exactly {@value #UNHEALTHY} failed fetches, long before the next probe. The owner is
   * an in-process fake that answers probes and counts them, so the test knows A's one probe at start
   * found it alive (a failed first probe would count towards the threshold).
   */
  @Test
  void failedPeerFetchesDropTheOwnerWithoutWaitingForAProbe() throws Exception {
    SampleOrigin origin = SampleOrigin.start("127.0.0.1", 0, Duration.ZERO);
    resources.add(origin);
    Map<String, Object> slowProbes = new HashMap<>(FAST_HEALTH);
    slowProbes.put("imgcache.health.interval", "60s");
    slowProbes.put("imgcache.health.timeout", "2s"); // a cold first probe must not time out
    slowProbes.put("imgcache.origin.url", "http://127.0.0.1:" + origin.port());
    int[] ports = freePorts(2);
    List<String> urls = List.of(url(ports[0]), url(ports[1]));
    String b = urls.get(1);
    AtomicInteger probes = new AtomicInteger();
    HttpServer fakeB = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), ports[1]), 16);
    fakeB.createContext("/_groupcache/_health", exchange -> {
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
      probes.incrementAndGet(); // after the answer is written
    });
    fakeB.start();
    resources.add(() -> fakeB.stop(0));
    Node a = start(ports[0], urls, slowProbes);
    await("A's start-up probe answered", Duration.ofSeconds(5), () -> probes.get() >= 1);
    assertEquals(Set.of(), a.cluster().snapshot().unhealthy());
    HttpClient http = httpClient();
    List<String> targets = new ArrayList<>();
    for (int i = 0; targets.size() < UNHEALTHY + 1; i++) {
      String target = "/v2/image/png/passive-" + i + "?w=20&h=20";
      if (owner(a, target).equals(b)) {
        targets.add(target);
      }
    }
    fakeB.stop(0);

    for (int i = 0; i < UNHEALTHY; i++) {
      HttpResponse<byte[]> response = get(http, url(a) + targets.get(i));
      assertEquals(200, response.statusCode());
      assertEquals("FALLBACK", response.headers().firstValue("X-Cache").orElse(null), targets.get(i));
      if (i < UNHEALTHY - 1) {
        assertTrue(a.cluster().snapshot().unhealthy().isEmpty(), (i + 1) + " failures are not enough");
      }
    }
    long start = System.nanoTime();
    await("B unhealthy on A", Duration.ofSeconds(5), () -> a.cluster().snapshot().unhealthy().equals(Set.of(b)));
    System.out.printf("health: %d failed fetches took a dead owner out of the ring (%d ms after the last),"
        + " with probes 60 s apart%n", UNHEALTHY, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    assertEquals(1, probes.get(), "no probe but the one at start");
    HttpResponse<byte[]> after = get(http, url(a) + targets.get(UNHEALTHY));
    assertEquals("MISS", after.headers().firstValue("X-Cache").orElse(null), "A owns B's keys now");
  }

  // ---- start-up check ----

  static Stream<Arguments> dropTimeAgainstLeaseTtl() {
    return Stream.of(
        // interval, unhealthy-threshold, timeout, lease-ttl, membership, refused
        Arguments.of("1s", 3, "500ms", "10s", "etcd", false), // the defaults: 3.5 s < 10 s
        Arguments.of("3s", 3, "999ms", "10s", "etcd", false), // 9.999 s < 10 s
        Arguments.of("3s", 3, "1s", "10s", "etcd", true), // 10 s is not below 10 s
        Arguments.of("4s", 3, "500ms", "10s", "etcd", true),
        Arguments.of("1s", 10, "500ms", "10s", "etcd", true),
        Arguments.of("200ms", 3, "100ms", "1s", "etcd", false),
        Arguments.of("300ms", 3, "100ms", "1s", "etcd", true),
        Arguments.of("4s", 3, "500ms", "10s", "static", false)); // no lease to outrun
  }

  @ParameterizedTest(name = "interval {0} × {1} + timeout {2} vs lease-ttl {3}, membership {4}: refused {5}")
  @MethodSource("dropTimeAgainstLeaseTtl")
  void startUpRefusesADropTimeNotBelowTheLeaseTtl(String interval, int threshold, String timeout, String leaseTtl,
      String membership, boolean refused) {
    Map<String, Object> settings = new HashMap<>();
    settings.put("imgcache.membership", membership);
    settings.put("imgcache.etcd.endpoints", List.of("http://127.0.0.1:2379"));
    settings.put("imgcache.etcd.lease-ttl", leaseTtl);
    settings.put("imgcache.health.interval", interval);
    settings.put("imgcache.health.unhealthy-threshold", threshold);
    settings.put("imgcache.health.timeout", timeout);
    if (refused) {
      InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> config(settings));
      assertEquals("imgcache.health.interval", e.key());
      assertTrue(e.getMessage().startsWith("imgcache.health.interval: "), e.getMessage());
      assertTrue(e.getMessage().contains("etcd.lease-ttl"), e.getMessage());
    } else {
      assertEquals(threshold, config(settings).health().unhealthyThreshold());
    }
  }

  // ---- helpers ----

  private Node start(int port, List<String> members, Map<String, Object> overrides) {
    Map<String, Object> settings = new HashMap<>();
    settings.put("imgcache.listen.host", "127.0.0.1");
    settings.put("imgcache.listen.port", port);
    settings.put("imgcache.shutdown.deregister-wait", "0s"); // tests close many nodes
    settings.put("imgcache.self-url", url(port));
    settings.put("imgcache.origin.url", "http://127.0.0.1:1"); // no test here loads without setting one
    settings.put("imgcache.membership", "static");
    settings.put("imgcache.peers.static", members);
    settings.put("imgcache.shutdown.drain-timeout", "2s");
    settings.putAll(overrides);
    Node node = Node.start(config(settings));
    nodes.add(node);
    return node;
  }

  private void stop(Node node) {
    nodes.remove(node);
    node.close();
  }

  private static ImgcacheConfig config(Map<String, Object> settings) {
    return ImgcacheConfig.from(
        ConfigFactory.parseMap(settings).withFallback(ConfigFactory.defaultReference()).resolve());
  }

  /** A probe client on a worker of its own, as the node builds it; the monitor closes the client. */
  private PooledHttpClient probeClient() {
    try {
      XnioWorker worker = Xnio.getInstance(Undertow.class.getClassLoader()).createWorker(OptionMap.EMPTY);
      resources.add(() -> {
        worker.shutdown();
        worker.awaitTermination(5, TimeUnit.SECONDS);
      });
      return new PooledHttpClient("health", worker, new DefaultByteBufferPool(false, 4096, -1, 1),
          new PoolSettings(2, 1, TIMEOUT, Duration.ofSeconds(60), TIMEOUT));
    } catch (IOException e) {
      throw new AssertionError("cannot start an XNIO worker", e);
    }
  }

  private HttpClient httpClient() {
    ExecutorService threads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "test-http-client");
      t.setDaemon(true);
      return t;
    });
    resources.add(threads::shutdownNow);
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(threads)
        .connectTimeout(Duration.ofSeconds(5)).build();
  }

  private static HttpResponse<byte[]> get(HttpClient http, String url) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20)).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String owner(Node asSeenBy, String target) {
    int q = target.indexOf('?');
    return asSeenBy.cluster().snapshot().ring().owner(KEYS.keyFor(target.substring(0, q), target.substring(q + 1)));
  }

  private static Set<String> live(Node node) {
    return node.cluster().snapshot().ring().members();
  }

  private static String url(int port) {
    return "http://127.0.0.1:" + port;
  }

  private static String url(Node node) {
    return node.cluster().self();
  }

  /**
   * Polls {@code condition} like {@link #await}, checking on every poll that each of {@code watched}
   * keeps itself in its own ring and never holds itself unhealthy; returns the milliseconds taken.
   */
  private static long awaitSelfStays(List<Node> watched, String what, Duration timeout, BooleanSupplier condition) {
    long start = System.nanoTime();
    await(what, timeout, () -> {
      for (Node n : watched) {
        Cluster.Snapshot s = n.cluster().snapshot();
        if (!s.ring().members().contains(url(n)) || s.unhealthy().contains(url(n))) {
          fail(url(n) + " left its own ring: " + s);
        }
      }
      return condition.getAsBoolean();
    });
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
  }

  /**
   * Polls until {@code condition} has held without a break for {@code period}, failing with {@code
   * what} after {@code timeout}.
   */
  private static void awaitSteady(String what, Duration timeout, Duration period, BooleanSupplier condition) {
    long start = System.nanoTime();
    long since = -1; // when the condition last became true, or -1 while it is false
    while (since < 0 || System.nanoTime() - since < period.toNanos()) {
      if (System.nanoTime() - start > timeout.toNanos()) {
        fail("timed out after " + timeout.toMillis() + "ms waiting for " + period.toMillis() + "ms of: " + what);
      }
      boolean holds = condition.getAsBoolean();
      if (!holds) {
        since = -1;
      } else if (since < 0) {
        since = System.nanoTime();
      }
      pause();
    }
  }

  private static void pause() {
    try {
      TimeUnit.MILLISECONDS.sleep(5); // a poll interval, not a wait for the event itself
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** Polls {@code condition} until it holds, failing with {@code what} after {@code timeout}. */
  private static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("timed out after " + timeout.toMillis() + "ms waiting for: " + what);
      }
      pause();
    }
  }

  /** {@code n} distinct loopback ports, each free when this returns. */
  private static int[] freePorts(int n) {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        ServerSocket socket = new ServerSocket();
        socket.setReuseAddress(true);
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        sockets.add(socket);
      }
      return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
    } catch (IOException e) {
      throw new AssertionError("no free loopback ports", e);
    } finally {
      for (ServerSocket s : sockets) {
        try {
          s.close();
        } catch (IOException ignored) {
          // nothing to do
        }
      }
    }
  }
}
