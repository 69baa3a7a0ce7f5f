package io.imgcache.process;

import static java.util.stream.Collectors.joining;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.imgcache.membership.EtcdCluster;
import io.imgcache.process.SteadyLoad.Expected;
import io.imgcache.process.SteadyLoad.Summary;
import io.imgcache.sample.SampleOrigin;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Real node processes (the fat jar) on one real etcd member and one sample origin: registration,
 * a node joining and leaving on SIGTERM, a node hung by SIGSTOP and resumed, a node killed with
 * SIGKILL — with the ring changes timed against DESIGN §7 and every client answer checked byte for
 * byte against the origin's.
 *
 * <p>The scenarios share nodes a, b and c and run in order. The SIGSTOP scenario runs before the
 * SIGKILL one so that both have two survivors. Figures are printed (failsafe keeps them in {@code
 * target/failsafe-reports/io.imgcache.process.NodeProcessIT-output.txt}); node logs stay in {@code
 * target/node-process-logs/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class NodeProcessIT {
  private static final Duration ORIGIN_DELAY = Duration.ofMillis(50);
  /** Joining and leaving through etcd (watch events) is seen by every peer within this. */
  private static final long WATCH_BOUND_MS = 1_000;
  /** health.interval × unhealthy-threshold + health.timeout + 1 s = 500 × 3 + 300 + 1000. */
  private static final long HEALTH_DROP_BOUND_MS = 500 * 3 + 300 + 1_000;
  /** "Back within a few seconds": healthy-threshold (2) probes 500 ms apart, with room. */
  private static final long HEALTH_RETURN_BOUND_MS = 5_000;
  /** How long the duplicate check may wait for demotion (it runs on ring changes). */
  private static final Duration DEMOTION_WAIT = Duration.ofSeconds(3);
  /** How long c stays stopped once both survivors dropped it: peers.timeout (2 s) and a margin. */
  private static final Duration STOPPED_AFTER_DROP = Duration.ofMillis(2_500);
  private static final Duration POLL_TIMEOUT = Duration.ofSeconds(10);
  private static final int LOAD_KEYS = 200;
  private static final int IN_FLIGHT = 8;
  private static final int LOAD_THREADS = 6;
  private static final int LOAD_RATE = 300; // requests per second, all threads together

  private final List<NodeProcess> started = Collections.synchronizedList(new ArrayList<>());
  private final ExecutorService pollers = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "node-process-it-poller");
    t.setDaemon(true);
    return t;
  });
  private EtcdCluster etcd;
  private SampleOrigin origin;
  private HttpClient http;
  private Path logDir;
  // One set of keys per fault scenario, so that each starts with keys nobody has cached yet.
  private final List<String> stopTargets = loadTargets("stop");
  private final List<String> killTargets = loadTargets("kill");
  // 800 × 600 PNGs (about 650 KB). The origin renders each on its first request (later ones come
  // from its memo), so these are first asked for through d, and stay in flight across its shutdown.
  private final List<String> inFlightTargets = IntStream.range(0, IN_FLIGHT)
      .mapToObj(i -> "/v2/image/png/in-flight-" + i + "?w=800&h=600").toList();
  private Map<String, Expected> expected;
  private NodeProcess a;
  private NodeProcess b;
  private NodeProcess c;

  @BeforeAll
  void startCluster() throws Exception {
    Path jar = NodeProcess.jar(); // fails first, and clearly, outside `mvn verify`
    logDir = Files.createTempDirectory(Files.createDirectories(jar.getParent().resolve("node-process-logs")),
        "NodeProcessIT-");
    etcd = EtcdCluster.start(1);
    origin = SampleOrigin.start("127.0.0.1", 0, ORIGIN_DELAY);
    http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(2))
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
    List<String> all = new ArrayList<>(stopTargets);
    all.addAll(killTargets);
    expected = fetchFromOrigin(all);
    List<CompletableFuture<NodeProcess>> starting = List.of("a", "b", "c").stream()
        .map(name -> CompletableFuture.supplyAsync(() -> startNode(name), pollers)).toList();
    // All settled before any failure is thrown, so that stopEverything closes every node started.
    CompletableFuture.allOf(starting.toArray(CompletableFuture[]::new)).exceptionally(failure -> null).join();
    a = starting.get(0).get();
    b = starting.get(1).get();
    c = starting.get(2).get();
    say("nodes a=%s b=%s c=%s, etcd %s, origin port %d, logs in %s", a, b, c, etcd.endpointsCsv(), origin.port(),
        logDir);
  }

  @AfterAll
  void stopEverything() {
    for (NodeProcess node : started) {
      try {
        node.close();
      } catch (RuntimeException e) {
        say("closing %s failed: %s", node, e); // and close the others
      }
    }
    pollers.shutdownNow();
    if (origin != null) {
      origin.close();
    }
    if (etcd != null) {
      etcd.close();
    }
  }

  @Test
  @Order(1)
  void everyNodeRegistersItsUrlInEtcd() {
    Map<String, String> want = new HashMap<>();
    for (NodeProcess node : List.of(a, b, c)) {
      want.put(node.etcdKey(), node.url());
    }
    // A node is ready once it has listed the members; its own put may land a moment later.
    long deadline = System.nanoTime() + POLL_TIMEOUT.toNanos();
    Map<String, String> registered = etcdMembers();
    while (!registered.equals(want) && System.nanoTime() - deadline < 0) {
      sleep(50);
      registered = etcdMembers();
    }
    say("etcd %s: %s", NodeProcess.ETCD_PREFIX, registered);
    assertEquals(want, registered, "etcdctl get --prefix " + NodeProcess.ETCD_PREFIX);
  }

  @Test
  @Order(2)
  void aJoiningNodeEntersEveryRingAndOnSigtermLeavesThemAndFinishesItsRequests() throws Exception {
    List<NodeProcess> others = List.of(a, b, c);
    awaitSettled(others);
    NodeProcess d = startNode("d");

    Map<String, FirstSeen> joined = firstTrue(ringChecks(others, ring -> Boolean.TRUE.equals(ring.get(d.url()))),
        d.readyAtNanos());
    assertWithin("d joins every ring, after its /_imgcache/readyz", joined, WATCH_BOUND_MS, d, a, b, c);

    // Keys nobody has asked for, through d: once the origin has received them all, each is in
    // flight at d for the origin's delay and an 800 × 600 render at least.
    long before = origin.requestCount();
    Map<String, CompletableFuture<HttpResponse<byte[]>>> inFlight = new LinkedHashMap<>();
    Map<String, Long> answeredAt = new ConcurrentHashMap<>();
    for (String target : inFlightTargets) {
      inFlight.put(target, http.sendAsync(get(d, target), HttpResponse.BodyHandlers.ofByteArray())
          .whenComplete((response, failure) -> answeredAt.put(target, System.nanoTime())));
    }
    await("the origin receives the " + IN_FLIGHT + " loads", () -> origin.requestCount() >= before + IN_FLIGHT);
    long termAt = System.nanoTime();
    d.signal("TERM");
    long doneAtTerm = inFlight.values().stream().filter(CompletableFuture::isDone).count();

    Map<String, Callable<Boolean>> gone = new LinkedHashMap<>();
    gone.put("etcd", () -> !etcdMembers().containsKey(d.etcdKey()));
    gone.putAll(ringChecks(others, ring -> !ring.containsKey(d.url())));
    Map<String, FirstSeen> left = firstTrue(gone, termAt);
    assertWithin("after SIGTERM, d's key leaves etcd and d every ring", left, WATCH_BOUND_MS, d, a, b, c);

    int exit = d.waitForExit(Duration.ofSeconds(20));
    say("d exited with %d, %d ms after SIGTERM", exit, (System.nanoTime() - termAt) / 1_000_000);
    assertEquals(0, exit, "d's exit status after SIGTERM\n" + d.logSection());

    Map<String, Expected> inFlightExpected = fetchFromOrigin(inFlightTargets); // from the origin's memo now
    List<String> failures = new ArrayList<>();
    for (Map.Entry<String, CompletableFuture<HttpResponse<byte[]>>> e : inFlight.entrySet()) {
      try {
        String problem = SteadyLoad.check(inFlightExpected.get(e.getKey()),
            e.getValue().get(SteadyLoad.REQUEST_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
        if (problem != null) {
          failures.add(e.getKey() + ": " + problem);
        }
      } catch (Exception failure) {
        failures.add(e.getKey() + ": " + failure);
      }
    }
    say("%d requests in flight at SIGTERM (%d answered before kill returned), answered %s ms after SIGTERM;"
        + " %d failed: %s", IN_FLIGHT, doneAtTerm, answeredAt.values().stream().map(t -> (t - termAt) / 1_000_000)
        .sorted().toList(), failures.size(), failures);
    assertTrue(failures.isEmpty(), "requests in flight through d at SIGTERM: " + failures + "\n" + d.logSection());
  }

  @Test
  @Order(3)
  void aStoppedNodeLeavesTheSurvivorsRingsAndReturnsAfterSigcont() {
    List<NodeProcess> survivors = List.of(a, b);
    awaitSettled(List.of(a, b, c));
    Summary summary;
    try (SteadyLoad load = SteadyLoad.start(http, stopTargets, expected, survivors, LOAD_THREADS, LOAD_RATE)) {
      await("half a pass over the keys", () -> load.completed() >= LOAD_KEYS / 2);

      long stopAt = System.nanoTime();
      c.signal("STOP");
      long contAt;
      try {
        Map<String, FirstSeen> dropped = firstTrue(
            ringChecks(survivors, ring -> !Boolean.TRUE.equals(ring.get(c.url()))), stopAt);
        assertWithin("SIGSTOP: c leaves the survivors' rings", dropped, HEALTH_DROP_BOUND_MS, a, b);
        // Stay stopped a while longer: fetches hung on c time out (peers.timeout) and fall back.
        sleep(STOPPED_AFTER_DROP.toMillis());
        boolean leaseAlive = etcdMembers().containsKey(c.etcdKey());
        say("c's key still in etcd after %d ms stopped: %s", (System.nanoTime() - stopAt) / 1_000_000, leaseAlive);
        assertTrue(leaseAlive, "a stopped node keeps its lease: it must leave the rings through the health monitor");
      } finally {
        contAt = System.nanoTime();
        c.signal("CONT"); // on failure too: the next scenario needs c running
      }
      Map<String, FirstSeen> back = firstTrue(ringChecks(survivors, ring -> Boolean.TRUE.equals(ring.get(c.url()))),
          contAt);
      assertWithin("SIGCONT: c back (healthy) in the survivors' rings", back, HEALTH_RETURN_BOUND_MS, a, b, c);

      long sofar = load.completed();
      await("another pass over the keys", () -> load.completed() >= sofar + LOAD_KEYS);
      summary = load.stop();
    }
    say("load through a and b around SIGSTOP/SIGCONT: %s", summary);
    assertEquals(0, summary.errorCount(), "client errors through the survivors: " + summary.errors() + "\n"
        + a.logSection() + "\n" + b.logSection());

    awaitSettled(List.of(a, b, c));
    assertNoKeyInTwoMainCaches(List.of(a, b, c), stopTargets);
  }

  @Test
  @Order(4)
  void aKilledNodeLeavesTheSurvivorsRingsWellBeforeItsLeaseExpires() {
    List<NodeProcess> survivors = List.of(a, b);
    awaitSettled(List.of(a, b, c));
    Summary summary;
    try (SteadyLoad load = SteadyLoad.start(http, killTargets, expected, survivors, LOAD_THREADS, LOAD_RATE)) {
      await("half a pass over the keys", () -> load.completed() >= LOAD_KEYS / 2);

      long killAt = System.nanoTime();
      c.signal("KILL");
      Map<String, FirstSeen> dropped = firstTrue(ringChecks(survivors, ring -> !Boolean.TRUE.equals(ring.get(c.url()))),
          killAt);
      assertWithin("SIGKILL: c leaves the survivors' rings", dropped, HEALTH_DROP_BOUND_MS, a, b);
      boolean leaseAlive = etcdMembers().containsKey(c.etcdKey());
      say("c's key still in etcd when both survivors had dropped it (lease-ttl 10 s): %s", leaseAlive);
      assertTrue(leaseAlive, "c's key had already left etcd: the drop may have come through the watch rather than"
          + " the health monitor");
      say("c exited with %d", c.waitForExit(Duration.ofSeconds(5)));

      long sofar = load.completed();
      await("another pass over the keys", () -> load.completed() >= sofar + LOAD_KEYS);
      summary = load.stop();
    }
    say("load through a and b around SIGKILL: %s", summary);
    assertEquals(0, summary.errorCount(), "client errors through the survivors: " + summary.errors() + "\n"
        + a.logSection() + "\n" + b.logSection());

    assertNoKeyInTwoMainCaches(survivors, killTargets);
  }

  // ---- helpers -------------------------------------------------------------------------------

  private NodeProcess startNode(String name) {
    NodeProcess node = NodeProcess.start(name, etcd.endpoints(), "http://127.0.0.1:" + origin.port(), logDir, http);
    started.add(node);
    return node;
  }

  private Map<String, Expected> fetchFromOrigin(List<String> targets) throws Exception {
    Map<String, CompletableFuture<HttpResponse<byte[]>>> pending = new LinkedHashMap<>();
    for (String target : targets) {
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + origin.port() + target))
          .timeout(Duration.ofSeconds(20)).build();
      pending.put(target, http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()));
    }
    Map<String, Expected> out = new HashMap<>();
    for (Map.Entry<String, CompletableFuture<HttpResponse<byte[]>>> e : pending.entrySet()) {
      HttpResponse<byte[]> response = e.getValue().get(30, TimeUnit.SECONDS);
      assertEquals(200, response.statusCode(), "origin answer for " + e.getKey());
      out.put(e.getKey(), new Expected(response.body(),
          response.headers().firstValue("Content-Type").orElseThrow()));
    }
    return Map.copyOf(out);
  }

  private static HttpRequest get(NodeProcess node, String target) {
    return HttpRequest.newBuilder(URI.create(node.url() + target)).timeout(SteadyLoad.REQUEST_TIMEOUT).build();
  }

  /** The registrations under the prefix, key → value, as etcdctl lists them. */
  private Map<String, String> etcdMembers() {
    String out = etcd.etcdctl("get", "--prefix", NodeProcess.ETCD_PREFIX).checkOk().stdout();
    List<String> lines = out.lines().filter(l -> !l.isEmpty()).toList();
    Map<String, String> members = new LinkedHashMap<>();
    for (int i = 0; i + 1 < lines.size(); i += 2) {
      members.put(lines.get(i), lines.get(i + 1));
    }
    return members;
  }

  /** One check per node: {@code condition} holds for what its ring endpoint answers. */
  private static Map<String, Callable<Boolean>> ringChecks(List<NodeProcess> nodes,
      Predicate<Map<String, Boolean>> condition) {
    Map<String, Callable<Boolean>> checks = new LinkedHashMap<>();
    for (NodeProcess node : nodes) {
      checks.put(node.name(), () -> condition.test(node.ring()));
    }
    return checks;
  }

  private Map<String, FirstSeen> firstTrue(Map<String, Callable<Boolean>> checks, long fromNanos) {
    return FirstSeen.poll(checks, fromNanos, POLL_TIMEOUT, pollers);
  }

  /** Prints the figures, then fails unless each was seen within {@code boundMs}. */
  private static void assertWithin(String what, Map<String, FirstSeen> measured, long boundMs, NodeProcess... logs) {
    say("%s (bound %d ms): %s", what, boundMs, measured.entrySet().stream()
        .map(e -> e.getKey() + " " + e.getValue()).collect(joining(", ")));
    List<String> late = measured.entrySet().stream().filter(e -> !e.getValue().within(boundMs))
        .map(Map.Entry::getKey).toList();
    if (!late.isEmpty()) {
      fail(what + ": not seen within " + boundMs + " ms for " + late + " (measured " + measured + ")\n"
          + List.of(logs).stream().map(NodeProcess::logSection).collect(joining("\n")));
    }
  }

  /** Waits until every node's ring lists exactly {@code nodes}, all healthy. */
  private void awaitSettled(List<NodeProcess> nodes) {
    Map<String, Boolean> want = nodes.stream().collect(Collectors.toMap(NodeProcess::url, n -> true));
    Map<String, FirstSeen> settled = firstTrue(ringChecks(nodes, want::equals), System.nanoTime());
    if (settled.values().stream().anyMatch(seen -> seen.byMs() < 0)) {
      StringBuilder rings = new StringBuilder();
      for (NodeProcess node : nodes) {
        try {
          rings.append(node.name()).append(": ").append(node.ring()).append('\n');
        } catch (IOException e) {
          rings.append(node.name()).append(": ").append(e).append('\n');
        }
      }
      fail("rings did not settle on " + want.keySet() + " within " + POLL_TIMEOUT.toSeconds() + " s:\n" + rings
          + nodes.stream().map(NodeProcess::logSection).collect(joining("\n")));
    }
  }

  /**
   * DESIGN §1, no owner duplication: each of {@code targets} is in at most one node's main cache.
   * Polls a short while, since demotion runs on a worker thread after each ring change.
   */
  private void assertNoKeyInTwoMainCaches(List<NodeProcess> nodes, List<String> targets) {
    long start = System.nanoTime();
    long deadline = start + DEMOTION_WAIT.toNanos();
    for (int round = 1; ; round++) {
      Map<String, List<String>> duplicated = new LinkedHashMap<>();
      int inMain = 0;
      for (String target : targets) {
        List<String> holders = new ArrayList<>();
        for (NodeProcess node : nodes) {
          try {
            if (node.holding(target).main()) {
              holders.add(node.name());
            }
          } catch (IOException e) {
            fail("cache lookup of " + target + " on " + node + ": " + e);
          }
        }
        inMain += holders.isEmpty() ? 0 : 1;
        if (holders.size() > 1) {
          duplicated.put(target, holders);
        }
      }
      String names = nodes.stream().map(NodeProcess::name).toList().toString();
      if (duplicated.isEmpty()) {
        say("no key in two main caches of %s (%d of %d keys in one main cache), round %d, %d ms", names, inMain,
            targets.size(), round, (System.nanoTime() - start) / 1_000_000);
        return;
      }
      String examples = duplicated.entrySet().stream().limit(10).map(e -> e.getKey() + " in " + e.getValue())
          .collect(joining(", "));
      say("round %d: %d keys in more than one main cache of %s: %s", round, duplicated.size(), names, examples);
      if (System.nanoTime() - deadline > 0) {
        fail(duplicated.size() + " keys in more than one main cache " + DEMOTION_WAIT.toMillis() + " ms on: "
            + examples + "\n" + nodes.stream().map(NodeProcess::logSection).collect(joining("\n")));
      }
      sleep(100);
    }
  }

  private static List<String> loadTargets(String scenario) {
    return IntStream.range(0, LOAD_KEYS)
        .mapToObj(i -> "/v2/image/" + List.of("png", "gif", "jpg").get(i % 3) + "/" + scenario + "-" + i
            + "?w=" + (40 + i % 17) + "&h=" + (30 + i % 13))
        .toList();
  }

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("timed out after 30 s waiting for " + what);
      }
      sleep(1);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void say(String format, Object... args) {
    System.out.printf("[NodeProcessIT] " + format + "%n", args);
  }
}
