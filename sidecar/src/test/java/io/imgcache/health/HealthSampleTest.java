package io.imgcache.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.imgcache.httpclient.PoolSettings;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.ring.Cluster;
import io.undertow.Undertow;
import io.undertow.server.DefaultByteBufferPool;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xnio.OptionMap;
import org.xnio.Xnio;
import org.xnio.XnioWorker;

/**
 * Issue 16's bounded probing: beyond {@code health.sample} other members a round probes the peers
 * this node talks to, the suspect ones and a rotating sample of the rest; an answered fetch stands
 * in for a probe. Rounds are run by the test against in-process fake peers that count the probes
 * they get: no clock, no sleeps.
 */
class HealthSampleTest {
  private static final int UNHEALTHY = 3;
  private static final int HEALTHY = 2;
  private static final int SAMPLE = 2;
  private static final String SELF = "http://127.0.0.1:1"; // never probed

  private final List<AutoCloseable> resources = new ArrayList<>();

  /** An in-process peer: answers probes with {@code status}, counting them. */
  private record FakePeer(String url, AtomicInteger status, AtomicInteger probes) {}

  /** Self, {@code peers} and a monitor that is not started over them. */
  private record Fleet(List<FakePeer> peers, Cluster cluster, HealthMonitor monitor) {}

  private Fleet fleet(int n) throws IOException {
    List<FakePeer> peers = peers(n);
    Cluster cluster = cluster(peers);
    return new Fleet(peers, cluster, monitor(cluster));
  }

  @AfterEach
  void close() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  @Test
  void upToSampleOtherMembersEveryPeerIsProbedEveryRound() throws Exception {
    List<FakePeer> peers = peers(SAMPLE);
    HealthMonitor monitor = monitor(cluster(peers));
    for (int round = 1; round <= 4; round++) {
      round(monitor);
      for (FakePeer p : peers) {
        assertEquals(round, p.probes().get(), p.url());
      }
    }
  }

  @Test
  void beyondSampleTheOthersAreProbedInTurnSampleARound() throws Exception {
    List<FakePeer> peers = peers(7);
    HealthMonitor monitor = monitor(cluster(peers));
    for (int round = 1; round <= 7; round++) {
      round(monitor);
      assertEquals(SAMPLE * round, total(peers), "probes after round " + round);
    }
    for (FakePeer p : peers) {
      assertEquals(SAMPLE, p.probes().get(), "7 rounds of 2 probes over 7 peers: each twice; " + p.url());
    }
  }

  @Test
  void anAnsweredFetchStandsInForTheProbeAndAFailureAfterItCancelsThat() throws Exception {
    Fleet f = fleet(7);
    FakePeer talkedTo = f.peers().get(3);
    for (int round = 1; round <= 10; round++) {
      answeredFetch(f.monitor(), talkedTo.url());
      round(f.monitor());
    }
    assertEquals(0, talkedTo.probes().get(), "a peer that answers fetches needs no probe");
    assertEquals(SAMPLE * 10, total(f.peers()), "the sample skips it");

    talkedTo.status().set(503);
    answeredFetch(f.monitor(), talkedTo.url());
    f.monitor().reportFetchStarted(talkedTo.url());
    f.monitor().reportFailure(talkedTo.url()); // the last fetch failed: that answer does not count
    f.monitor().reportFetchEnded(talkedTo.url(), false);
    round(f.monitor());
    assertEquals(1, talkedTo.probes().get(), "a peer with a failure counted is probed");
    round(f.monitor());
    assertFalse(f.cluster().snapshot().healthy(talkedTo.url()), "1 failed fetch + 2 failed probes");
  }

  /**
   * The drop bound for a peer this node talks to is what it was: a fetch to it hangs (in flight,
   * never ending), so it is probed every round and leaves on exactly the threshold's round.
   */
  @Test
  void aPeerWithAFetchInFlightIsProbedEveryRoundAndLeavesOnTheThresholdsRound() throws Exception {
    Fleet f = fleet(7);
    FakePeer hung = f.peers().get(5);
    answeredFetch(f.monitor(), hung.url());
    round(f.monitor()); // the answer counts; no probe
    assertEquals(0, hung.probes().get());
    f.monitor().reportFetchStarted(hung.url()); // and never ends
    hung.status().set(503);
    for (int round = 1; round <= UNHEALTHY; round++) {
      round(f.monitor());
      assertEquals(round, hung.probes().get(), "probed in round " + round);
      assertEquals(round < UNHEALTHY, f.cluster().snapshot().healthy(hung.url()), "healthy after round " + round);
    }
  }

  /** Answered fetches that have all ended: the peer is back to its sample turns (probed at most every 4th round). */
  @Test
  void aPeerWhoseFetchesAllEndedIsProbedOnlyInItsSampleTurn() throws Exception {
    Fleet f = fleet(7);
    FakePeer peer = f.peers().get(2);
    answeredFetch(f.monitor(), peer.url());
    round(f.monitor());
    for (int round = 0; round < 8; round++) {
      round(f.monitor());
    }
    // 8 rounds of 2 probes over 7 peers: 2 or 3 each in turn (8 if it were probed every round).
    assertTrue(peer.probes().get() >= 2 && peer.probes().get() <= 3, "probed " + peer.probes().get() + " times");
  }

  /** The rejoin path: a peer held unhealthy is probed every round, however long, until it is back. */
  @Test
  void anUnhealthyPeerIsProbedEveryRoundUntilItIsHealthyAgain() throws Exception {
    Fleet f = fleet(7);
    FakePeer down = f.peers().get(0);
    down.status().set(503);
    for (int i = 0; i < UNHEALTHY; i++) {
      f.monitor().reportFailure(down.url());
    }
    int rounds = UNHEALTHY + 20;
    for (int round = 1; round <= rounds; round++) {
      round(f.monitor());
    }
    assertFalse(f.cluster().snapshot().healthy(down.url()));
    assertEquals(rounds, down.probes().get(), "probed every round while unhealthy");
    down.status().set(200);
    round(f.monitor());
    round(f.monitor());
    assertTrue(f.cluster().snapshot().healthy(down.url()), "back after " + HEALTHY + " good rounds");
    int before = down.probes().get();
    for (int round = 0; round < 7; round++) {
      round(f.monitor());
    }
    assertTrue(down.probes().get() - before <= 3, "healthy and not talked to: only in its sample turns");
  }

  /**
   * A peer this node does not talk to that dies is found in its sample turn (at most ⌈7 / 2⌉ = 4
   * rounds) and then probed every round: it leaves within 4 + threshold − 1 = 6 rounds.
   */
  @Test
  void aPeerNotTalkedToLeavesWithinItsTurnPlusTheThreshold() throws Exception {
    for (int dead = 0; dead < 7; dead++) {
      Fleet f = fleet(7);
      round(f.monitor()); // the rotation is somewhere mid-list when the peer dies
      f.peers().get(dead).status().set(503);
      int rounds = 0;
      while (f.cluster().snapshot().healthy(f.peers().get(dead).url())) {
        round(f.monitor());
        rounds++;
        assertTrue(rounds <= 4 + UNHEALTHY - 1, "peer " + dead + " still in the ring after " + rounds + " rounds");
      }
    }
  }

  /** A fetch from {@code peer} that was answered, as the group reports it. */
  private static void answeredFetch(HealthMonitor monitor, String peer) {
    monitor.reportFetchStarted(peer);
    monitor.reportFetchEnded(peer, true);
  }

  private static void round(HealthMonitor monitor) throws Exception {
    monitor.probeRound().get(10, TimeUnit.SECONDS);
  }

  private static int total(List<FakePeer> peers) {
    return peers.stream().mapToInt(p -> p.probes().get()).sum();
  }

  private static Cluster cluster(List<FakePeer> peers) {
    Cluster cluster = new Cluster(SELF, 16, System::nanoTime);
    List<String> members = new ArrayList<>(peers.stream().map(FakePeer::url).toList());
    members.add(SELF);
    cluster.setMembers(members);
    return cluster;
  }

  private List<FakePeer> peers(int n) throws IOException {
    List<FakePeer> peers = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      AtomicInteger status = new AtomicInteger(200);
      AtomicInteger probes = new AtomicInteger();
      HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
      server.createContext("/_groupcache/_health", exchange -> {
        probes.incrementAndGet(); // before the answer: the round ends once it is read
        exchange.sendResponseHeaders(status.get(), -1);
        exchange.close();
      });
      server.start();
      resources.add(() -> server.stop(0));
      peers.add(new FakePeer("http://127.0.0.1:" + server.getAddress().getPort(), status, probes));
    }
    return peers;
  }

  /** A monitor that is not started: the test runs the rounds. */
  private HealthMonitor monitor(Cluster cluster) throws IOException {
    XnioWorker worker = Xnio.getInstance(Undertow.class.getClassLoader()).createWorker(OptionMap.EMPTY);
    resources.add(() -> {
      worker.shutdown();
      worker.awaitTermination(5, TimeUnit.SECONDS);
    });
    Duration timeout = Duration.ofSeconds(2);
    PooledHttpClient probes = new PooledHttpClient("health", worker, new DefaultByteBufferPool(false, 4096, -1, 1),
        new PoolSettings(2, 1, timeout, Duration.ofSeconds(60), timeout));
    HealthMonitor monitor = new HealthMonitor(cluster, probes, Duration.ofHours(1), timeout, UNHEALTHY, HEALTHY,
        SAMPLE, new HealthMonitor.Listener() {});
    resources.add(monitor);
    return monitor;
  }
}
