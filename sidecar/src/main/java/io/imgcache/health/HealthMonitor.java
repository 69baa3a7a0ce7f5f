package io.imgcache.health;

import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.peer.PeerProtocol;
import io.imgcache.ring.Cluster;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Set;
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

  public void start() {
    thread.scheduleWithFixedDelay(this::probeAll, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** A real fetch from {@code peer} failed. Non-blocking; any thread. */
  public void reportFailure(String peer) {
    execute(() -> record(peer, false));
  }

  private void probeAll() {
    Cluster.Snapshot snapshot = cluster.snapshot();
    Set<String> members = snapshot.members();
    states.retain(members);
    for (String member : members) {
      if (member.equals(snapshot.self())) {
        continue;
      }
      probes.get(URI.create(member), PeerProtocol.HEALTH_PATH, NO_HEADERS, timeout, 1024)
          .whenComplete((response, failure) ->
              execute(() -> record(member, failure == null && response.status() == 200)));
    }
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

  private void execute(Runnable task) {
    try {
      thread.execute(task);
    } catch (RejectedExecutionException e) {
      // closed
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
