package io.imgcache.membership;

import static java.nio.charset.StandardCharsets.UTF_8;
import static io.imgcache.membership.EtcdNodes.await;
import static io.imgcache.membership.EtcdNodes.key;
import static io.imgcache.membership.EtcdNodes.metric;
import static io.imgcache.membership.EtcdNodes.ring;
import static io.imgcache.membership.EtcdNodes.url;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.imgcache.Node;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@code membership = etcd} (DESIGN §7) against a real single-member etcd: registration layout and
 * lease, joins and graceful leaves reaching every ring, a lease revoked behind a node's back, and an
 * etcd outage under client load.
 *
 * <p>Timing: waits are deadline polls (generous, so a busy CI machine only makes them slower) and
 * the figures are printed; what is asserted is how a change travelled (the watch, not a relist; the
 * lease kept, not re-granted), which load cannot change. The one latency bound asserted is the
 * regression bound of {@link #afterALongEtcdOutageANodeSeesANewMemberSoonAfterEtcdAnswers}, several
 * times what it takes.
 */
class EtcdMembershipTest extends EtcdNodesTest {
  /**
   * How long etcd stays down in {@link #etcdOutageUnderLoadCostsNoRequestAndLeaksNoLease}. The issue
   * asks for 30 s; 15 s keeps the suite's time bounded and still outlasts the 5 s lease TTL that test
   * uses, so leases expire on the client side during the outage and must be re-granted afterwards.
   */
  static final Duration OUTAGE = Duration.ofSeconds(15);
  /**
   * The outage in {@link #afterALongEtcdOutageANodeSeesANewMemberSoonAfterEtcdAnswers}: the issue's
   * 20 s, long enough for gRPC's reconnect backoff to have grown past 5 s.
   */
  static final Duration LONG_OUTAGE = Duration.ofSeconds(20);
  /**
   * The deadline for seeing a new member after a long outage: the 2 s target plus 1 s for a loaded
   * CI machine. It takes 0.1 to 0.3 s on an idle one; before the fix, 4 to 7 s after a 20 s outage.
   */
  static final Duration RECOVERY_BOUND = Duration.ofSeconds(3);
  /** How long a membership change may take to reach every ring before a test gives up on it. */
  static final Duration CHANGE_DEADLINE = Duration.ofSeconds(10);
  /** {@code imgcache.etcd.lease-ttl}'s default, which the tests that do not set it get. */
  static final Duration DEFAULT_TTL = Duration.ofSeconds(10);

  @Test
  void nodesRegisterUnderTheirUrlWithALeaseOfTheConfiguredTtl() throws Exception {
    Map<String, Object> ttl = Map.of("imgcache.etcd.lease-ttl", "7s"); // not the default: it is read
    List<Node> three = List.of(nodes.start(ttl), nodes.start(ttl), nodes.start(ttl));
    Set<String> urls = urls(three);
    await("every node ready with all three in its ring", Duration.ofSeconds(10),
        () -> three.stream().allMatch(n -> n.ready() && ring(n).equals(urls)));

    Map<String, String> expected = new TreeMap<>();
    for (Node n : three) {
      expected.put("/imgcache2/nodes/http:__127.0.0.1:" + n.port(), "http://127.0.0.1:" + n.port());
    }
    assertEquals(expected, nodes.registrations());

    Set<Long> leases = new HashSet<>();
    for (Node n : three) {
      long lease = nodes.leaseOf(key(n));
      assertNotEquals(0, lease, key(n) + " has no lease");
      assertEquals(7, nodes.grantedTtlSeconds(lease), "granted TTL of " + key(n) + "'s lease");
      leases.add(lease);
    }
    assertEquals(3, leases.size(), "one lease per node");
    assertEquals(leases, Set.copyOf(nodes.leases()), "etcd holds exactly the nodes' leases");

    for (Node n : three) {
      HttpResponse<byte[]> readyz = nodes.get(n, "/_imgcache/readyz");
      assertEquals(200, readyz.statusCode(), url(n) + "/_imgcache/readyz");
      assertEquals(1.0, metric(n, "imgcache_etcd_up"), url(n));
      assertEquals(1.0, metric(n, "imgcache_etcd_lease_grants_total"), url(n));
    }
  }

  /**
   * A node is ready (load balancers send it clients) only once its ring holds the member list: while
   * the first list is handed over it is not, or it would own every key alone for that while and load
   * other owners' keys (chaos scenario 9 saw one such load).
   */
  @Test
  void readyOnlyOnceTheFirstMemberListIsHandedOver() throws Exception {
    AtomicBoolean readyDuringHandOver = new AtomicBoolean(true);
    AtomicInteger lists = new AtomicInteger();
    try (Client client = Client.builder()
            .endpoints(etcd.cluster().endpoints().toArray(String[]::new)).build();
        EtcdMembership membership = new EtcdMembership(() -> client, "http://127.0.0.1:1", EtcdNodes.PREFIX,
            Duration.ofSeconds(10), System::nanoTime, new EtcdMembership.EtcdEvents() {})) {
      membership.start(members -> {
        if (lists.getAndIncrement() == 0) {
          readyDuringHandOver.set(membership.ready());
        }
      });
      await("the member list handed over", CHANGE_DEADLINE, () -> lists.get() > 0 && membership.ready());
      assertFalse(readyDuringHandOver.get(), "ready while the first member list was being handed over");
    }
  }

  /**
   * Watched changes are gathered: a burst of 50 joins (a fleet's cold start, seen from one member)
   * is published at most once per {@link EtcdMembership#PUBLISH_WINDOW_MS}, each publish a ring
   * build, and the last publish has them all. The bound counts the windows the burst took on this
   * machine, however slow: it fails only if changes are published one by one.
   */
  @Test
  void aBurstOfJoinsIsPublishedOncePerWindowNotOncePerJoin() throws Exception {
    List<Set<String>> published = new CopyOnWriteArrayList<>();
    try (Client client = Client.builder()
            .endpoints(etcd.cluster().endpoints().toArray(String[]::new)).build();
        EtcdMembership membership = new EtcdMembership(() -> client, "http://127.0.0.1:1", EtcdNodes.PREFIX,
            Duration.ofSeconds(10), System::nanoTime, new EtcdMembership.EtcdEvents() {})) {
      membership.start(published::add);
      await("the first member list", CHANGE_DEADLINE, () -> !published.isEmpty() && membership.ready());
      int before = published.size();
      List<ByteSequence> joined = new ArrayList<>();
      long start = System.nanoTime();
      try {
        for (int i = 0; i < 50; i++) {
          String url = "http://127.0.0.2:" + (20_000 + i);
          joined.add(ByteSequence.from(EtcdNodes.PREFIX + url.replace('/', '_'), UTF_8));
          client.getKVClient().put(joined.get(i), ByteSequence.from(url, UTF_8)).get(10, TimeUnit.SECONDS);
        }
        await("all 50 joins", CHANGE_DEADLINE, () -> published.get(published.size() - 1).size() >= 51);
        long windows = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) / EtcdMembership.PUBLISH_WINDOW_MS + 1;
        int publishes = published.size() - before;
        System.out.printf("50 joins: %d publishes in %d windows%n", publishes, windows);
        assertTrue(publishes <= windows, publishes + " publishes for 50 joins in " + windows + " windows");
      } finally {
        for (ByteSequence key : joined) { // no lease: gone only when deleted, and other tests share etcd
          client.getKVClient().delete(key).get(10, TimeUnit.SECONDS);
        }
      }
    }
  }

  /**
   * Joins and graceful leaves reach every ring through the watch: no node lists the prefix again for
   * them (a relist would mean a watch that failed, or a poll, and take a backoff's time). The times
   * are printed; the target is 1 s.
   */
  @Test
  void joinsAndGracefulLeavesReachEveryRingThroughTheWatch() throws Exception {
    List<Node> running = new ArrayList<>(List.of(nodes.start(Map.of()), nodes.start(Map.of()),
        nodes.start(Map.of())));
    await("three nodes in every ring", CHANGE_DEADLINE,
        () -> running.stream().allMatch(n -> ring(n).equals(urls(running))));
    List<Node> firstThree = List.copyOf(running);
    Map<String, Double> resyncs = resyncs(firstThree);

    Node fourth = nodes.start(Map.of());
    running.add(fourth);
    Duration join = await("the fourth node in every ring", CHANGE_DEADLINE,
        () -> running.stream().allMatch(n -> ring(n).equals(urls(running))));
    System.out.printf("etcd membership: a fourth node was in all four rings %d ms after Node.start%n",
        join.toMillis());
    assertTrue(fourth.ready());
    assertEquals(resyncs, resyncs(firstThree), "the others learned of the join from their watch, not a relist");

    Node leaving = running.get(1);
    String leavingKey = key(leaving);
    running.remove(leaving);
    List<Node> stayingOfFirstThree = firstThree.stream().filter(n -> n != leaving).toList();
    Map<String, Double> resyncsBeforeLeave = resyncs(stayingOfFirstThree);
    Thread closer = nodes.stopInBackground(leaving);
    Duration leave = await("the closed node out of every other ring", CHANGE_DEADLINE,
        () -> running.stream().allMatch(n -> ring(n).equals(urls(running))));
    assertFalse(nodes.registrations().containsKey(leavingKey), "deregistered: key gone from etcd");
    System.out.printf("etcd membership: a closing node left every other ring %d ms after close() began%n",
        leave.toMillis());
    assertEquals(resyncsBeforeLeave, resyncs(stayingOfFirstThree),
        "the others learned of the leave from their watch, not a relist");
    closer.join(Duration.ofSeconds(30).toMillis());
    assertFalse(closer.isAlive(), "close() returned");

    // The revoked lease is gone too: nothing is left behind by a graceful leave.
    Set<Long> live = Set.copyOf(nodes.leasesByKey().values());
    assertEquals(3, live.size());
    assertEquals(live, Set.copyOf(nodes.leases()));
  }

  @Test
  void leaseRevokedFromOutsideIsReplacedByANewOneWithoutLeaks() {
    List<Node> three = List.of(nodes.start(Map.of()), nodes.start(Map.of()), nodes.start(Map.of()));
    await("three nodes in every ring", Duration.ofSeconds(10),
        () -> three.stream().allMatch(n -> ring(n).equals(urls(three))));
    Map<String, Long> before = nodes.leasesByKey();
    Node victim = three.get(0);
    long old = before.get(key(victim));

    etcd.cluster().etcdctl("lease", "revoke", Long.toHexString(old)).checkOk();
    Duration reRegister = await("the victim registered again with a new lease", CHANGE_DEADLINE, () -> {
      long lease = nodes.leaseOf(key(victim));
      return lease != 0 && lease != old;
    });
    System.out.printf("etcd membership: a node re-registered %d ms after its lease was revoked from outside%n",
        reRegister.toMillis());

    assertEquals(3, nodes.registrations().size());
    awaitNoLeakedLease(DEFAULT_TTL);
    Map<String, Long> after = nodes.leasesByKey();
    for (Node n : three) {
      if (n != victim) {
        assertEquals(before.get(key(n)), after.get(key(n)), "the other nodes keep their leases");
      }
    }
    await("every ring whole again", Duration.ofSeconds(10),
        () -> three.stream().allMatch(n -> ring(n).equals(urls(three))));
    assertEquals(2.0, metric(victim, "imgcache_etcd_lease_grants_total"), "granted once, re-granted once");
  }

  /**
   * Regression: a node that lost its key re-registered under a new lease and left the old one to
   * expire, although etcd still held it (here: our key deleted behind the node's back, the lease
   * alive): two leases for one node until the old one's TTL ran out. It now puts its key back
   * under the lease it still holds.
   */
  @Test
  void ownKeyDeletedFromOutsideIsPutBackUnderTheLeaseItStillHolds() {
    List<Node> three = List.of(nodes.start(Map.of()), nodes.start(Map.of()), nodes.start(Map.of()));
    await("three nodes in every ring", Duration.ofSeconds(10),
        () -> three.stream().allMatch(n -> ring(n).equals(urls(three))));
    Node victim = three.get(2);
    long old = nodes.leaseOf(key(victim));

    etcd.cluster().etcdctl("del", key(victim)).checkOk();
    Duration back = await("the victim's key back under its lease", Duration.ofSeconds(10),
        () -> nodes.leaseOf(key(victim)) == old);
    System.out.printf("etcd membership: a node put its deleted key back %d ms after the delete%n", back.toMillis());
    awaitNoLeakedLease(DEFAULT_TTL);
    assertTrue(nodes.leases().contains(old), "the lease it still held was kept, not replaced");
    assertEquals(1.0, metric(victim, "imgcache_etcd_lease_grants_total"), "no second lease was granted");
    await("every ring whole again", Duration.ofSeconds(10),
        () -> three.stream().allMatch(n -> ring(n).equals(urls(three))));
  }

  /** Regression: a lease-ttl of 1500ms was granted as 1 s, shorter than the health check allows for. */
  @Test
  void leaseTtlWithAFractionOfASecondIsRoundedUp() {
    Node node = nodes.start(Map.of("imgcache.etcd.lease-ttl", "1500ms",
        "imgcache.health.interval", "300ms", "imgcache.health.timeout", "200ms"));
    await("registered", Duration.ofSeconds(10), () -> nodes.registrations().containsKey(key(node)));
    assertEquals(2, nodes.grantedTtlSeconds(nodes.leaseOf(key(node))));
  }

  @Test
  void etcdOutageUnderLoadCostsNoRequestAndLeaksNoLease() throws Exception {
    // A 5 s TTL (health: 1 s × 3 + 0.5 s stays below it) runs out during the outage.
    Map<String, Object> ttl = Map.of("imgcache.etcd.lease-ttl", "5s");
    List<Node> three = List.of(nodes.start(ttl), nodes.start(ttl), nodes.start(ttl));
    Set<String> urls = urls(three);
    await("three nodes in every ring", Duration.ofSeconds(10),
        () -> three.stream().allMatch(n -> ring(n).equals(urls)));
    Map<String, String> registered = nodes.registrations();
    assertEquals(3, registered.size());
    Map<String, Long> leasesBefore = nodes.leasesByKey();

    // The expected bytes, straight from the origin; then warm the "cached" half through the nodes.
    List<String> cached = new ArrayList<>();
    List<String> uncached = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      cached.add("/v2/image/png/outage-c" + i + "?w=" + (20 + i) + "&h=20");
    }
    for (int i = 0; i < 400; i++) {
      uncached.add("/v2/image/png/outage-u" + i + "?w=" + (20 + i % 50) + "&h=24");
    }
    Map<String, byte[]> expected = new TreeMap<>();
    for (String target : concat(cached, uncached)) {
      expected.put(target, nodes.body(originUrl() + target));
    }
    for (int i = 0; i < cached.size(); i++) {
      assertArrayEquals(expected.get(cached.get(i)), nodes.body(url(three.get(i % 3)) + cached.get(i)));
    }

    Load load = new Load(three, cached, uncached, expected);
    Thread client = new Thread(load, "test-outage-client");
    client.start();
    try {
      await("the client is under way", Duration.ofSeconds(10), () -> load.requests.get() > 20);

      etcd.cluster().kill(0);
      long killed = System.nanoTime();
      Set<Node> sawDown = new HashSet<>();
      while (System.nanoTime() - killed < OUTAGE.toNanos()) {
        for (Node n : three) {
          assertEquals(urls, ring(n), url(n) + " keeps the last known members while etcd is down");
          if (metric(n, "imgcache_etcd_up") == 0.0) {
            sawDown.add(n);
          }
        }
        EtcdNodes.pause(50); // sampling the outage for its fixed length, not waiting for a condition
      }
      assertEquals(Set.copyOf(three), sawDown, "imgcache_etcd_up went to 0 on every node");
      int duringOutage = load.requests.get();
      int uncachedDuringOutage = load.uncachedServed.get();

      etcd.cluster().restart(0);
      long restarted = System.nanoTime();
      // The outage outlasted the lease TTL, so every node's keep-alive gave up. etcd renews the old
      // leases when it restarts: a node takes its old lease up again (its key never disappears from
      // under the peers) or, if that lease is gone, registers under a new one — never both.
      Duration reRegistered = await("every node registered again, etcd_up 1 everywhere",
          Duration.ofSeconds(40), () -> {
            Map<String, Long> leases = nodes.leasesByKey();
            return leases.keySet().equals(leasesBefore.keySet())
                && leases.values().stream().noneMatch(lease -> lease == 0)
                && three.stream().allMatch(n -> metric(n, "imgcache_etcd_up") == 1.0);
          });
      assertEquals(registered, nodes.registrations());
      Duration leasesWhole = awaitNoLeakedLease(Duration.ofSeconds(5)).plus(reRegistered);
      await("every ring whole after the outage", Duration.ofSeconds(5),
          () -> three.stream().allMatch(n -> ring(n).equals(urls)));
      load.stop.set(true);
      client.join(Duration.ofSeconds(30).toMillis());
      System.out.printf("etcd outage of %d s: %d client requests (%d during the outage, %d of them first"
              + " requests for uncached keys), %d errors; after the restart: every node re-registered and"
              + " etcd_up 1 within %d ms, leases whole within %d ms%n",
          OUTAGE.toSeconds(), load.requests.get(), duringOutage, uncachedDuringOutage, load.errors.get(),
          reRegistered.toMillis(), leasesWhole.toMillis());
      assertEquals(List.of(), load.failures, "client errors during the etcd outage");
      assertEquals(0, load.errors.get());
      assertTrue(uncachedDuringOutage > 20, "uncached keys were loaded during the outage: " + uncachedDuringOutage);
    } finally {
      load.stop.set(true);
      client.join(Duration.ofSeconds(30).toMillis());
    }
  }

  /**
   * Regression (issue 10, item 6): after a 20 s etcd outage a node saw a new member only 6.9 s after
   * etcd answered again, up to ~12 s after 30 s, because the gRPC channel inside the jetcd client
   * was still waiting out its exponential reconnect backoff. The node must be registered (under the
   * lease it held, so its key never lapsed) and see a member registered after the restart within
   * {@link #RECOVERY_BOUND} of etcd answering, whatever the outage length.
   */
  @Test
  void afterALongEtcdOutageANodeSeesANewMemberSoonAfterEtcdAnswers() {
    Node node = nodes.start(Map.of()); // the default 10 s TTL: shorter than the outage
    await("registered and ready", Duration.ofSeconds(10),
        () -> node.ready() && nodes.registrations().containsKey(key(node)));
    long lease = nodes.leaseOf(key(node));

    etcd.cluster().kill(0);
    long killed = System.nanoTime();
    while (System.nanoTime() - killed < LONG_OUTAGE.toNanos()) {
      assertEquals(Set.of(url(node)), node.cluster().snapshot().members(), "keeps its last members");
      EtcdNodes.pause(200); // sampling the outage for its fixed length, not waiting for a condition
    }
    etcd.cluster().restart(0); // returns once etcd answers a health check
    long answering = System.nanoTime();
    String newcomer = "http://127.0.0.1:1";
    etcd.cluster().etcdctl("put", EtcdNodes.PREFIX + newcomer.replace('/', '_'), newcomer).checkOk();

    Duration seen = await("the node sees the member registered after the restart", RECOVERY_BOUND,
        () -> node.cluster().snapshot().members().contains(newcomer));
    Duration sinceAnswering = Duration.ofNanos(System.nanoTime() - answering);
    Duration registered = await("the node registered", RECOVERY_BOUND,
        () -> nodes.leaseOf(key(node)) != 0 && metric(node, "imgcache_etcd_up") == 1.0);
    System.out.printf("etcd outage of %d s: the node saw a new member %d ms after etcd answered again (%d ms"
        + " after the put), registered and etcd_up 1 %d ms after that%n", LONG_OUTAGE.toSeconds(),
        sinceAnswering.toMillis(), seen.toMillis(), registered.toMillis());
    assertEquals(lease, nodes.leaseOf(key(node)), "its key stayed under the lease it held: it never lapsed");
  }

  /**
   * Polls until etcd holds exactly the leases the registrations are attached to, one per key. A
   * leaked lease is listed until its TTL runs out, so the deadline is one second short of {@code
   * ttl}: a machine too busy to poll within it can hide a leak, never invent one.
   */
  private Duration awaitNoLeakedLease(Duration ttl) {
    Duration timeout = ttl.minusSeconds(1);
    try {
      return await("one lease per registered node, none leaked", timeout, () -> {
        Map<String, Long> byKey = nodes.leasesByKey();
        Set<Long> live = Set.copyOf(byKey.values());
        return live.size() == byKey.size() && !live.contains(0L) && live.equals(Set.copyOf(nodes.leases()));
      });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; registrations' leases " + hex(nodes.leasesByKey().values())
          + ", etcd's leases " + hex(nodes.leases()), e);
    }
  }

  private static List<String> hex(Collection<Long> leases) {
    return leases.stream().map(Long::toHexString).toList();
  }

  /**
   * A client that cycles through the nodes, asking for a cached key each time and for a key never
   * asked before every fourth time, and checks every answer against the origin's bytes.
   */
  private final class Load implements Runnable {
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicInteger requests = new AtomicInteger();
    final AtomicInteger errors = new AtomicInteger();
    final AtomicInteger uncachedServed = new AtomicInteger();
    final List<String> failures = Collections.synchronizedList(new ArrayList<>()); // first few only
    private final List<Node> targets;
    private final List<String> cached;
    private final List<String> uncached;
    private final Map<String, byte[]> expected;

    Load(List<Node> targets, List<String> cached, List<String> uncached, Map<String, byte[]> expected) {
      this.targets = targets;
      this.cached = cached;
      this.uncached = uncached;
      this.expected = expected;
    }

    @Override
    public void run() {
      int next = 0;
      for (int i = 0; !stop.get(); i++) {
        Node node = targets.get(i % targets.size());
        request(node, cached.get(i % cached.size()));
        if (i % 4 == 0 && next < uncached.size()) {
          request(node, uncached.get(next++));
          uncachedServed.incrementAndGet();
        }
        EtcdNodes.pause(10); // pacing the load, so the uncached keys last through the outage
      }
    }

    private void request(Node node, String target) {
      requests.incrementAndGet();
      String what = "GET " + url(node) + target;
      try {
        HttpResponse<byte[]> response = nodes.get(node, target);
        if (response.statusCode() != 200) {
          fail(what + " answered " + response.statusCode());
        } else if (!Arrays.equals(expected.get(target), response.body())) {
          fail(what + " (X-Cache " + response.headers().firstValue("X-Cache").orElse("-")
              + "): body differs from the origin's");
        }
      } catch (Exception e) {
        fail(what + " failed: " + e);
      }
    }

    private void fail(String failure) {
      errors.incrementAndGet();
      if (failures.size() < 10) {
        failures.add(failure);
      }
    }
  }

  /** Node URL → how many times it listed the prefix ({@code imgcache_etcd_resyncs_total}). */
  private static Map<String, Double> resyncs(List<Node> of) {
    Map<String, Double> out = new TreeMap<>();
    for (Node n : of) {
      out.put(url(n), metric(n, "imgcache_etcd_resyncs_total"));
    }
    return out;
  }

  private static String originUrl() {
    return "http://127.0.0.1:" + origin.port();
  }

  private static Set<String> urls(List<Node> nodes) {
    return nodes.stream().map(EtcdNodes::url).collect(Collectors.toSet());
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }
}
