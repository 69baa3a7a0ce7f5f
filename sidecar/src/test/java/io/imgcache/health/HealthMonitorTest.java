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
import java.util.concurrent.ExecutionException;
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
 * DESIGN §7's health monitor: a peer failing unhealthy-threshold probe rounds in a row leaves the
 * ring and returns after healthy-threshold good rounds; passive failure reports drop it without
 * waiting for a probe; self never leaves; and start-up refuses a config whose drop time is not below
 * the etcd lease TTL.
 *
 * <p>Timing: the exact thresholds are tested on rounds the test runs itself ({@link
 * HealthMonitor#probeRound}), so no clock is involved; the end-to-end tests between real nodes poll
 * with deadlines and print how long things took (interval × threshold + timeout is the schedule's
 * consequence), but assert no duration a busy machine could stretch.
 */
class HealthMonitorTest {
  private static final Duration INTERVAL = Duration.ofMillis(200);
  private static final Duration TIMEOUT = Duration.ofMillis(100);
  private static final int UNHEALTHY = 3;
  private static final int HEALTHY = 2;
  /** How long the end-to-end tests wait for a peer to leave or return before they give up. */
  private static final Duration DEADLINE = Duration.ofSeconds(10);
  /** Probe timeout for rounds that must succeed against a live fake peer, even on a busy machine. */
  private static final Duration LIVE_TIMEOUT = Duration.ofSeconds(2);
  /** Probe timeout for rounds that fail whatever the load (so they may as well fail quickly). */
  private static final Duration FAILING_TIMEOUT = Duration.ofMillis(300);
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
    // A probed B and C before they listened: wait until every view is whole.
    await("every node sees all three healthy", DEADLINE,
        () -> Stream.of(a, b, c).allMatch(n -> live(n).equals(Set.copyOf(urls))));

    stop(c);
    long dropMillis = awaitSelfStays(List.of(a, b), "C unhealthy on A and B", DEADLINE,
        () -> Stream.of(a, b).allMatch(n -> n.cluster().snapshot().unhealthy().equals(Set.of(url(ports[2])))));
    System.out.printf("health: a closed peer left every other ring %d ms after close() returned (interval × %d"
        + " + timeout = %d ms)%n", dropMillis, UNHEALTHY, INTERVAL.multipliedBy(UNHEALTHY).plus(TIMEOUT).toMillis());
    for (Node n : List.of(a, b)) {
      Cluster.Snapshot s = n.cluster().snapshot();
      assertEquals(Set.copyOf(urls), s.members(), "C stays a member, only out of the ring");
      assertEquals(Set.of(url(a), url(b)), s.ring().members());
    }

    Node c2 = start(ports[2], urls, FAST_HEALTH);
    long returnMillis = awaitSelfStays(List.of(a, b, c2), "C back in every ring", DEADLINE,
        () -> Stream.of(a, b, c2).allMatch(n -> live(n).equals(Set.copyOf(urls))));
    System.out.printf("health: the restarted peer was back in every ring %d ms after Node.start returned"
        + " (interval × %d + timeout = %d ms)%n", returnMillis, HEALTHY,
        INTERVAL.multipliedBy(HEALTHY).plus(TIMEOUT).toMillis());
  }

  @Test
  void selfStaysInItsOwnRingWhenEveryPeerIsDead() {
    int[] ports = freePorts(3);
    List<String> urls = List.of(url(ports[0]), url(ports[1]), url(ports[2])); // only A ever runs
    Node a = start(ports[0], urls, FAST_HEALTH);
    awaitSelfStays(List.of(a), "both peers unhealthy on A", DEADLINE,
        () -> a.cluster().snapshot().unhealthy().equals(Set.of(urls.get(1), urls.get(2))));
    assertEquals(Set.of(url(a)), a.cluster().snapshot().ring().members());
  }

  // ---- probe rounds run by the test ----

  /**
   * One round at a time against an in-process fake peer whose answer the test sets: the peer leaves
   * on exactly the {@value #UNHEALTHY}-th failed round in a row and returns on exactly the {@value
   * #HEALTHY}-th good one in a row; the other kind of answer in between starts the count again.
   */
  @Test
  void aPeerLeavesOnExactlyTheNthFailedRoundAndReturnsOnExactlyTheMthGoodOne() throws Exception {
    AtomicInteger status = new AtomicInteger(200);
    String peer = fakePeer(status);
    String self = "http://127.0.0.1:1"; // never probed
    Cluster cluster = new Cluster(self, 160, System::nanoTime);
    cluster.setMembers(List.of(self, peer));
    List<String> transitions = new CopyOnWriteArrayList<>();
    HealthMonitor monitor = monitor(cluster, LIVE_TIMEOUT, transitions);

    // status the peer answers with, and whether it is in the ring after that round
    Object[][] rounds = {
        {503, true}, {503, true}, {200, true}, // a good round: the failures start again from 0
        {503, true}, {503, true}, {503, false}, // the 3rd failure in a row: out
        {503, false}, {200, false}, {503, false}, // a failure: the successes start again from 0
        {200, false}, {200, true}, // the 2nd success in a row: back
        {200, true}};
    for (int i = 0; i < rounds.length; i++) {
      status.set((Integer) rounds[i][0]);
      monitor.probeRound().get(10, TimeUnit.SECONDS);
      assertEquals(rounds[i][1], cluster.snapshot().ring().members().contains(peer),
          "in the ring after round " + (i + 1) + " (answered " + rounds[i][0] + ")");
    }
    assertEquals(List.of(peer + " unhealthy", peer + " healthy"), transitions);
  }

  /** Every way a probe can fail counts the same; each round ends once its probe has failed. */
  @ParameterizedTest(name = "a peer that {0}")
  @MethodSource("failingPeers")
  void aFailingPeerLeavesOnExactlyTheNthRound(String how) throws Exception {
    String peer = switch (how) {
      case "refuses connections" -> url(freePorts(1)[0]);
      case "never answers" -> silentPeer();
      case "answers 500" -> fakePeer(new AtomicInteger(500));
      default -> throw new IllegalArgumentException(how);
    };
    String self = "http://127.0.0.1:1";
    Cluster cluster = new Cluster(self, 160, System::nanoTime);
    cluster.setMembers(List.of(self, peer));
    List<String> transitions = new CopyOnWriteArrayList<>();
    HealthMonitor monitor = monitor(cluster, FAILING_TIMEOUT, transitions);

    for (int round = 1; round <= UNHEALTHY; round++) {
      monitor.probeRound().get(10, TimeUnit.SECONDS);
      assertEquals(round < UNHEALTHY, cluster.snapshot().healthy(peer), "healthy after round " + round);
    }
    assertEquals(Set.of(self), cluster.snapshot().ring().members());
    assertEquals(List.of(peer + " unhealthy"), transitions);
  }

  static Stream<String> failingPeers() {
    return Stream.of("refuses connections", "never answers", "answers 500");
  }

  @Test
  void aRoundAfterCloseFailsRatherThanHangs() {
    Cluster cluster = new Cluster("http://127.0.0.1:1", 160, System::nanoTime);
    HealthMonitor monitor = monitor(cluster, FAILING_TIMEOUT, new ArrayList<>());
    monitor.close();
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> monitor.probeRound().get(10, TimeUnit.SECONDS));
    assertEquals("health monitor closed", e.getCause().getMessage());
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
        HEALTHY, 32, new HealthMonitor.Listener() {
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

  /** A monitor that is not started (the test runs the rounds), recording transitions as "url healthy". */
  private HealthMonitor monitor(Cluster cluster, Duration timeout, List<String> transitions) {
    HealthMonitor monitor = new HealthMonitor(cluster, probeClient(timeout), Duration.ofHours(1), timeout,
        UNHEALTHY, HEALTHY, 32, new HealthMonitor.Listener() {
          @Override
          public void transition(String p, boolean healthy) {
            transitions.add(p + (healthy ? " healthy" : " unhealthy"));
          }
        });
    resources.add(monitor);
    return monitor;
  }

  /** An in-process peer answering health probes with {@code status}; returns its URL. */
  private String fakePeer(AtomicInteger status) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    server.createContext("/_groupcache/_health", exchange -> {
      exchange.sendResponseHeaders(status.get(), -1);
      exchange.close();
    });
    server.start();
    resources.add(() -> server.stop(0));
    return url(server.getAddress().getPort());
  }

  /** A port whose connections the kernel accepts (into the backlog) and nobody ever answers. */
  private String silentPeer() throws IOException {
    ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    resources.add(socket);
    return url(socket.getLocalPort());
  }

  private PooledHttpClient probeClient() {
    return probeClient(TIMEOUT);
  }

  /** A probe client on a worker of its own, as the node builds it; the monitor closes the client. */
  private PooledHttpClient probeClient(Duration timeout) {
    try {
      XnioWorker worker = Xnio.getInstance(Undertow.class.getClassLoader()).createWorker(OptionMap.EMPTY);
      resources.add(() -> {
        worker.shutdown();
        worker.awaitTermination(5, TimeUnit.SECONDS);
      });
      return new PooledHttpClient("health", worker, new DefaultByteBufferPool(false, 4096, -1, 1),
          new PoolSettings(2, 1, timeout, Duration.ofSeconds(60), timeout));
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
