package io.imgcache.health;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.collect.ImmutableSortedSet;
import com.google.common.collect.Iterables;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.peer.PeerProtocol;
import io.imgcache.ring.Cluster;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Probes other members' {@code /_groupcache/_health} every {@code interval} and takes in passive
 * reports from real peer fetches. A peer leaves this node's ring after {@code unhealthyThreshold}
 * consecutive failures and returns after {@code healthyThreshold} successes if it is still a
 * member; self never leaves. Probes use their own small connection pool, so a busy peer pool cannot
 * make a live peer look dead.
 *
 * <p>Which peers a round probes (issue 16): with at most {@code sample} other members, all of
 * them, as before. Beyond that, so that probe traffic does not grow with the fleet:
 * <ul>
 *   <li>a peer held unhealthy or with a failure counted: probed (the rejoin path, and a suspect is
 *       decided within the threshold's rounds);
 *   <li>a peer that answered a fetch since the last round, with no failure after it: not probed —
 *       that answer is recorded as the round's success;
 *   <li>a peer with a fetch in flight (started, not yet ended): probed — it may be hung, and the
 *       fetch would wait up to peers.timeout; so probes are bounded by the fetches in flight, not
 *       by the fleet;
 *   <li>of the rest, the next {@code sample} in member order after the last one sampled: probed.
 * </ul>
 * So a peer this node is fetching from, or has failed a fetch from, is observed every round, as
 * before, and leaves within interval × unhealthy-threshold + timeout of that; a peer it does not talk to is probed at least every
 * ⌈others / sample⌉ rounds, and once a probe fails it is probed every round: it leaves within
 * interval × (⌈others / sample⌉ + unhealthy-threshold − 1) + timeout, or as soon as fetches to it
 * begin failing.
 *
 * <p>All decisions run on the monitor's one thread; {@link #reportFailure} only hands over, and
 * {@link #reportFetchStarted} and {@link #reportFetchEnded} only count in concurrent maps.
 *
 * <p>Time: decisions count rounds and reports, never time. {@link #start} runs a probe round every
 * {@code interval} (fixed delay). Tests run rounds themselves ({@link #probeRound}) instead of
 * waiting for the schedule.
 */
public final class HealthMonitor implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HealthMonitor.class);
  private static final List<String> NO_HEADERS = List.of();

  private final Cluster cluster;
  private final Prober probes;
  private final AutoCloseable closeProbes;
  private final Duration interval;
  private final Listener listener;
  private final ScheduledExecutorService thread;
  private final int sample;
  private final PeerStates states; // confined to thread
  private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>(); // fetches started, not ended, per peer
  private final Set<String> answered = ConcurrentHashMap.newKeySet(); // peers that answered a fetch since the last round
  private String sampledUpTo = ""; // confined to thread: the last member the rotating sample probed

  /** Told about transitions, on the monitor's thread; must be quick. */
  public interface Listener {
    default void transition(String peer, boolean healthy) {}
  }

  /** One health probe of {@code member}: completes true if it answered 200; never exceptionally. */
  @FunctionalInterface
  interface Prober {
    CompletableFuture<Boolean> probe(String member);
  }

  /**
   * {@code probes} is owned by the monitor and closed with it; {@code sample} ≥ 1 is config {@code
   * health.sample}.
   */
  public HealthMonitor(Cluster cluster, PooledHttpClient probes, Duration interval, Duration timeout,
      int unhealthyThreshold, int healthyThreshold, int sample, Listener listener) {
    this(cluster, member -> probes.get(URI.create(member), PeerProtocol.HEALTH_PATH, NO_HEADERS, timeout, 1024)
            .handle((response, failure) -> failure == null && response.status() == 200),
        probes::close, interval, unhealthyThreshold, healthyThreshold, sample, listener);
  }

  /** With probes of its own (simulations); {@code closeProbes} runs on {@link #close}. */
  HealthMonitor(Cluster cluster, Prober probes, AutoCloseable closeProbes, Duration interval, int unhealthyThreshold,
      int healthyThreshold, int sample, Listener listener) {
    checkArgument(sample >= 1, "sample must be >= 1, was %s", sample);
    this.cluster = cluster;
    this.sample = sample;
    this.probes = probes;
    this.closeProbes = closeProbes;
    this.interval = interval;
    this.listener = listener;
    this.states = new PeerStates(unhealthyThreshold, healthyThreshold);
    ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "imgcache-health");
      t.setDaemon(true);
      return t;
    });
    executor.setRemoveOnCancelPolicy(true);
    this.thread = executor;
  }

  /** Runs a probe round now and then every {@code interval}. Call once. */
  public void start() {
    thread.scheduleWithFixedDelay(this::probeAll, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** A real fetch from {@code peer} failed. Non-blocking; any thread. */
  public void reportFailure(String peer) {
    execute(() -> {
      answered.remove(peer); // an answer before this failure must not count as the round's success
      record(peer, false);
    });
  }

  /** A real fetch from {@code peer} begins. Non-blocking and cheap (per fetch, on IO threads); any thread. */
  public void reportFetchStarted(String peer) {
    inFlight.computeIfAbsent(peer, p -> new AtomicInteger()).incrementAndGet();
  }

  /**
   * The fetch {@link #reportFetchStarted} announced ended; {@code answered}: the peer answered it
   * (any status). A failure is reported with {@link #reportFailure} as well. Non-blocking; any thread.
   */
  public void reportFetchEnded(String peer, boolean answered) {
    AtomicInteger n = inFlight.get(peer);
    if (n != null) {
      n.decrementAndGet();
    }
    if (answered && !this.answered.contains(peer)) {
      this.answered.add(peer);
    }
  }

  /**
   * Runs one probe round on the monitor's thread, as the schedule does. Non-blocking; any thread.
   *
   * @return completes once every probe of the round has been answered (or timed out) and recorded;
   *     completes exceptionally if the monitor is closed first
   */
  CompletableFuture<Void> probeRound() {
    CompletableFuture<Void> round = new CompletableFuture<>();
    if (!execute(() -> probeAll().whenComplete((ok, failure) -> round.complete(null)))) {
      round.completeExceptionally(new IllegalStateException("health monitor closed"));
    }
    return round;
  }

  /** Sends this round's probes; the result completes once each answer is recorded. */
  private CompletableFuture<Void> probeAll() {
    Cluster.Snapshot snapshot = cluster.snapshot();
    Set<String> members = snapshot.members();
    states.retain(members);
    inFlight.entrySet().removeIf(e -> e.getValue().get() <= 0 && !members.contains(e.getKey()));
    List<CompletableFuture<Void>> recorded = new ArrayList<>();
    for (String member : choose(snapshot)) {
      CompletableFuture<Void> done = new CompletableFuture<>();
      recorded.add(done);
      probes.probe(member)
          .whenComplete((ok, failure) -> {
            boolean handedOver = execute(() -> {
              record(member, failure == null && ok);
              done.complete(null);
            });
            if (!handedOver) {
              done.complete(null); // closed meanwhile: nothing is recorded any more
            }
          });
    }
    return CompletableFuture.allOf(recorded.toArray(CompletableFuture[]::new));
  }

  /**
   * The peers this round probes, in the class comment's order; records the answered fetches that
   * stand in for a probe. On the monitor's thread.
   */
  private List<String> choose(Cluster.Snapshot snapshot) {
    ImmutableSortedSet<String> members = ImmutableSortedSet.copyOf(snapshot.members()); // no copy: it is one
    int others = members.size() - 1;
    List<String> probe = new ArrayList<>();
    if (others <= sample) {
      answered.clear();
      for (String member : members) {
        if (!member.equals(snapshot.self())) {
          probe.add(member);
        }
      }
      return probe;
    }
    Set<String> done = new HashSet<>();
    for (String peer : members) {
      if (peer.equals(snapshot.self())) {
        continue;
      }
      boolean answeredFetch = answered.remove(peer);
      AtomicInteger fetching = inFlight.get(peer);
      if (states.suspect(peer)) {
        probe.add(peer);
      } else if (answeredFetch) {
        record(peer, true);
      } else if (fetching != null && fetching.get() > 0) {
        probe.add(peer);
      } else {
        continue; // not being talked to: only in its turn of the sample
      }
      done.add(peer);
    }
    answered.removeIf(peer -> !members.contains(peer)); // fetches from members that left
    // The rotating sample: the next members after the last one sampled, wrapping, each once.
    int taken = 0;
    for (String peer : Iterables.concat(members.tailSet(sampledUpTo, false), members.headSet(sampledUpTo, true))) {
      if (taken == sample) {
        break;
      }
      if (!peer.equals(snapshot.self()) && !done.contains(peer)) {
        probe.add(peer);
        sampledUpTo = peer;
        taken++;
      }
    }
    return probe;
  }

  private void record(String peer, boolean ok) {
    Cluster.Snapshot snapshot = cluster.snapshot();
    if (peer.equals(snapshot.self()) || !snapshot.members().contains(peer)) {
      return; // self never leaves (the ring would ignore it, the log and metrics would not); or it left
    }
    switch (states.record(peer, ok)) {
      case BECAME_UNHEALTHY -> {
        log.info("peer {} unhealthy: leaving this node's ring", peer);
        cluster.markUnhealthy(peer);
        listener.transition(peer, false);
      }
      case BECAME_HEALTHY -> {
        log.info("peer {} healthy again: back in this node's ring", peer);
        cluster.markHealthy(peer);
        listener.transition(peer, true);
      }
      case NONE -> { }
    }
  }

  /** Hands {@code task} to the monitor's thread; false if the monitor is closed. */
  private boolean execute(Runnable task) {
    try {
      thread.execute(task);
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  @Override
  public void close() {
    thread.shutdownNow();
    try {
      thread.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      closeProbes.close();
    } catch (Exception e) {
      log.warn("closing the health probes failed", e);
    }
  }
}
