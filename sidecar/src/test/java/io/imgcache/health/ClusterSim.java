package io.imgcache.health;

import static io.imgcache.BenchFigures.allocated;
import static io.imgcache.BenchFigures.mb;
import static io.imgcache.BenchFigures.millis;
import static io.imgcache.BenchFigures.usedAfterGc;

import io.imgcache.ring.Cluster;
import io.imgcache.ring.Ring;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;

/**
 * Issue 16's simulation: N members in one JVM, none of them a server. A few observer nodes each
 * keep their own {@link Cluster} over all N and run a real {@link HealthMonitor} whose probes go
 * to a fake prober (a shared table of who is alive, counting probes); each round every observer
 * also makes {@code fetches} peer fetches to the owners of random keys, reported as answers or
 * failures as the node's group would. Measures, per cluster size: the start-up ring build, heap of
 * ring + previous, one ring change (time, garbage), a rolling restart (every other member leaves
 * and comes back: 2(N-1) changes) on one node, probes per node per round (= per second at the
 * default health.interval), and rounds until a dead member is out of every observer's ring and back.
 * Run by {@code bench/cluster-sim}; not a unit test.
 */
public final class ClusterSim {
  private static final int UNHEALTHY = 3;
  private static final int HEALTHY = 2;
  private static final int SAMPLE = 32;
  private static final int OBSERVERS = 3;

  private ClusterSim() {}

  public static void main(String[] args) throws Exception {
    int fetches = Integer.getInteger("fetches", 200);
    int[] sizes = args.length > 0
        ? java.util.Arrays.stream(args).mapToInt(Integer::parseInt).toArray()
        : new int[] {10, 100, 500, 1000};
    System.out.printf("simulated: %d observer nodes per size, %d peer fetches per node per round when busy,"
        + " health.sample %d, thresholds %d/%d; a round is one health.interval (1 s by default)%n%n",
        OBSERVERS, fetches, SAMPLE, UNHEALTHY, HEALTHY);
    System.out.println("| members | start-up ring | ring + previous | ring change | garbage per change"
        + " | rolling restart, CPU per node | probes per node per round: before → busy / idle"
        + " | dead member out of every ring (rounds): busy / idle | hung member out: busy / idle"
        + " | back in (rounds) |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|");
    for (int n : sizes) {
      List<String> members = IntStream.range(0, n).mapToObj(ClusterSim::member).toList();
      RingFigures ring = ringFigures(members);
      HealthFigures busy = healthFigures(members, fetches);
      HealthFigures idle = healthFigures(members, 0);
      System.out.printf("| %,d | %s | %s | %s | %s | %s | %d → %.1f / %.1f | %d / %d | %d / %d | %d / %d |%n", n,
          millis(ring.startupNanos), mb(ring.retainedBytes), millis(ring.changeNanos), mb(ring.changeGarbage),
          millis(ring.rollingNanos), n - 1, busy.probesPerRound, idle.probesPerRound, busy.dropRounds,
          idle.dropRounds, busy.hungDropRounds, idle.hungDropRounds, busy.backRounds, idle.backRounds);
    }
  }

  private record RingFigures(long startupNanos, long retainedBytes, long changeNanos, long changeGarbage,
      long rollingNanos) {}

  private record HealthFigures(double probesPerRound, int dropRounds, int hungDropRounds, int backRounds) {}

  private static RingFigures ringFigures(List<String> members) {
    String self = members.get(0);
    long before = usedAfterGc();
    Cluster cluster = new Cluster(self, Ring.DEFAULT_VNODES, System::nanoTime);
    long t = System.nanoTime();
    cluster.setMembers(members);
    long startup = System.nanoTime() - t;
    cluster.markUnhealthy(members.get(members.size() - 1)); // a previous ring that differs, as after a change
    long retained = usedAfterGc() - before;

    int changes = Math.min(40, 2 * (members.size() - 1));
    long time = 0;
    long garbage = 0;
    Random random = new Random(members.size());
    for (int i = 0; i < changes; i++) {
      String m = members.get(1 + random.nextInt(members.size() - 1));
      long a = allocated();
      long s = System.nanoTime();
      cluster.markUnhealthy(m);
      cluster.markHealthy(m);
      time += System.nanoTime() - s;
      garbage += allocated() - a;
    }
    long rolling = System.nanoTime();
    for (String m : members) {
      if (!m.equals(self)) {
        cluster.setMembers(members.stream().filter(x -> !x.equals(m)).toList()); // deregistered
        cluster.setMembers(members); // back, with an empty cache
      }
    }
    rolling = System.nanoTime() - rolling;
    return new RingFigures(startup, retained, time / (2L * changes), garbage / (2L * changes), rolling);
  }

  private static HealthFigures healthFigures(List<String> members, int fetches) throws Exception {
    Set<String> alive = ConcurrentHashMap.newKeySet(); // answer probes and fetches
    alive.addAll(members);
    Set<String> hung = ConcurrentHashMap.newKeySet(); // accept fetches and never answer
    AtomicLong probes = new AtomicLong();
    List<Cluster> clusters = new ArrayList<>();
    List<HealthMonitor> monitors = new ArrayList<>();
    int observers = Math.min(OBSERVERS, members.size() - 1);
    try {
      for (int o = 0; o < observers; o++) {
        Cluster cluster = new Cluster(members.get(o), Ring.DEFAULT_VNODES, System::nanoTime);
        cluster.setMembers(members);
        clusters.add(cluster);
        monitors.add(new HealthMonitor(cluster, member -> {
          probes.incrementAndGet();
          return CompletableFuture.completedFuture(alive.contains(member));
        }, () -> { }, Duration.ofSeconds(1), UNHEALTHY, HEALTHY, SAMPLE, new HealthMonitor.Listener() {}));
      }
      Random random = new Random(members.size() * 31L + fetches);
      int steady = 20;
      for (int r = 0; r < steady; r++) {
        round(clusters, monitors, alive, hung, fetches, random);
      }
      probes.set(0);
      for (int r = 0; r < steady; r++) {
        round(clusters, monitors, alive, hung, fetches, random);
      }
      double perRound = probes.get() / (double) (steady * observers);

      String dead = members.get(members.size() - 1); // not an observer
      int drop = roundsUntil(() -> clusters.stream().noneMatch(c -> c.snapshot().ring().members().contains(dead)),
          () -> alive.remove(dead), clusters, monitors, alive, hung, fetches, random);
      int back = roundsUntil(() -> clusters.stream().allMatch(c -> c.snapshot().ring().members().contains(dead)),
          () -> alive.add(dead), clusters, monitors, alive, hung, fetches, random);
      String stuck = members.get(members.size() - 2); // SIGSTOP: probes time out, fetches hang
      int hangDrop = roundsUntil(() -> clusters.stream().noneMatch(c -> c.snapshot().ring().members().contains(stuck)),
          () -> {
            alive.remove(stuck);
            hung.add(stuck);
          }, clusters, monitors, alive, hung, fetches, random);
      return new HealthFigures(perRound, drop, hangDrop, back);
    } finally {
      monitors.forEach(HealthMonitor::close);
    }
  }

  /** Applies {@code change}, then runs rounds until {@code done}; returns how many. */
  private static int roundsUntil(BooleanSupplier done, Runnable change, List<Cluster> clusters,
      List<HealthMonitor> monitors, Set<String> alive, Set<String> hung, int fetches, Random random) throws Exception {
    change.run();
    int rounds = 0;
    while (!done.getAsBoolean()) {
      round(clusters, monitors, alive, hung, fetches, random);
      rounds++;
    }
    return rounds;
  }

  /** One health interval: every observer's fetches of the interval, then its probe round. */
  private static void round(List<Cluster> clusters, List<HealthMonitor> monitors, Set<String> alive,
      Set<String> hung, int fetches, Random random) throws Exception {
    for (int o = 0; o < clusters.size(); o++) {
      Cluster cluster = clusters.get(o);
      HealthMonitor monitor = monitors.get(o);
      Ring ring = cluster.snapshot().ring();
      for (int f = 0; f < fetches; f++) {
        String owner = ring.owner("/v2/image/png/" + random.nextInt(1_000_000) + "?w=" + (1 + random.nextInt(2000)));
        if (owner.equals(cluster.self())) {
          continue;
        }
        monitor.reportFetchStarted(owner);
        if (hung.contains(owner)) {
          continue; // never answers: in flight until the peer leaves the ring (not modelled: it stays in flight)
        }
        boolean answered = alive.contains(owner);
        if (!answered) {
          monitor.reportFailure(owner); // refused at once
        }
        monitor.reportFetchEnded(owner, answered);
      }
      monitor.probeRound().get(30, TimeUnit.SECONDS);
    }
  }

  private static String member(int i) {
    return "http://10." + (i / 62500) + "." + (i / 250 % 250) + "." + (i % 250 + 1) + ":9000";
  }

}
