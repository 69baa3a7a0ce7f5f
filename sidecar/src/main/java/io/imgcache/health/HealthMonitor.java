package io.imgcache.health;

import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.peer.PeerProtocol;
import io.imgcache.ring.Cluster;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Probes every other member's {@code /_groupcache/_health} every {@code interval} and takes in
 * passive failure reports from real peer fetches. A peer leaves this node's ring after {@code
 * unhealthyThreshold} consecutive failures and returns after {@code healthyThreshold} successes if
 * it is still a member; self never leaves. Probes use their own small connection pool, so a busy
 * peer pool cannot make a live peer look dead.
 *
 * <p>All decisions run on the monitor's one thread; {@link #reportFailure} only hands over.
 *
 * <p>Time: decisions count rounds and reports, never time. {@link #start} runs a probe round every
 * {@code interval} (fixed delay); so a dead peer leaves within interval × unhealthy-threshold +
 * timeout. Tests run rounds themselves ({@link #probeRound}) instead of waiting for the schedule.
 */
public final class HealthMonitor implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HealthMonitor.class);
  private static final List<String> NO_HEADERS = List.of();

  private final Cluster cluster;
  private final PooledHttpClient probes;
  private final Duration interval;
  private final Duration timeout;
  private final Listener listener;
  private final ScheduledExecutorService thread;
  private final PeerStates states; // confined to thread

  /** Told about transitions, on the monitor's thread; must be quick. */
  public interface Listener {
    default void transition(String peer, boolean healthy) {}
  }

  /** {@code probes} is owned by the monitor and closed with it. */
  public HealthMonitor(Cluster cluster, PooledHttpClient probes, Duration interval, Duration timeout,
      int unhealthyThreshold, int healthyThreshold, Listener listener) {
    this.cluster = cluster;
    this.probes = probes;
    this.interval = interval;
    this.timeout = timeout;
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
    execute(() -> record(peer, false));
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
    List<CompletableFuture<Void>> recorded = new ArrayList<>();
    for (String member : members) {
      if (member.equals(snapshot.self())) {
        continue;
      }
      CompletableFuture<Void> done = new CompletableFuture<>();
      recorded.add(done);
      probes.get(URI.create(member), PeerProtocol.HEALTH_PATH, NO_HEADERS, timeout, 1024)
          .whenComplete((response, failure) -> {
            boolean handedOver = execute(() -> {
              record(member, failure == null && response.status() == 200);
              done.complete(null);
            });
            if (!handedOver) {
              done.complete(null); // closed meanwhile: nothing is recorded any more
            }
          });
    }
    return CompletableFuture.allOf(recorded.toArray(CompletableFuture[]::new));
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
    probes.close();
  }
}
