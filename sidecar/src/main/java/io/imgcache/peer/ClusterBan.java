package io.imgcache.peer;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.imgcache.group.Group;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.ring.Cluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Bans a key prefix on every member: this node's group directly, every other member's through
 * {@code DELETE /_groupcache/_ban/<group>/<prefix>}. A member that does not answer is asked again,
 * with a growing pause, until it does or the ban's lifetime ends — so a member that was down or
 * cut off when the ban was given applies it when it is back. With etcd membership each ban is also
 * stored in etcd for its lifetime, and every member applies the bans it sees there, so a ban
 * outlives the node that was given it. Each ban has an id: a member applies a ban once however
 * often it is delivered. Thread-safe.
 */
public final class ClusterBan implements AutoCloseable {
  private static final long FIRST_RETRY_MILLIS = 1_000;
  private static final long MAX_RETRY_MILLIS = 30_000;

  private final Cluster cluster;
  private final Group group;
  private final PooledHttpClient pool;
  private final String token; // "" = none
  private final Duration timeout;
  private final Duration lifetime;
  private final LongSupplier nanoTime;
  private final Publisher publisher;
  private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(
      new ThreadFactoryBuilder().setNameFormat("imgcache-ban-retry").setDaemon(true).build());

  /** Where a ban is also stored for members to pick up by themselves (etcd); must not block. */
  public interface Publisher {
    void publish(String id, String prefix, Duration lifetime);
  }

  /**
   * @param token authenticates us to the peers (the peer token, else the admin token; "" = none)
   * @param lifetime how long unanswered members are retried (cache.ban-lifetime)
   * @param publisher stores each ban with the membership (etcd), or does nothing (static)
   */
  public ClusterBan(Cluster cluster, Group group, PooledHttpClient pool, String token, Duration timeout,
      Duration lifetime, LongSupplier nanoTime, Publisher publisher) {
    this.publisher = publisher;
    this.cluster = cluster;
    this.group = group;
    this.pool = pool;
    this.token = token;
    this.timeout = timeout;
    this.lifetime = lifetime;
    this.nanoTime = nanoTime;
  }

  /**
   * Bans {@code prefix} here (walking this node's caches on the calling thread: not an IO thread),
   * then on every other member; completes (never exceptionally) with the JSON answer: {@code
   * {"prefix": p, "removed": {"<member url>": copies or "error: ..."}, "total": n}}. Members that
   * failed are retried in the background.
   */
  public CompletableFuture<String> ban(String prefix) {
    String id = UUID.randomUUID().toString();
    publisher.publish(id, prefix, lifetime);
    Map<String, CompletableFuture<String>> answers = new TreeMap<>();
    answers.put(cluster.self(), CompletableFuture.completedFuture(Integer.toString(group.ban(id, prefix))));
    long giveUpAt = nanoTime.getAsLong() + lifetime.toNanos();
    for (String member : cluster.snapshot().members()) {
      if (!member.equals(cluster.self())) {
        CompletableFuture<String> answer = send(member, id, prefix);
        answer.thenAccept(first -> {
          if (Broadcast.failed(first)) {
            retryLater(member, id, prefix, FIRST_RETRY_MILLIS, giveUpAt);
          }
        });
        answers.put(member, answer);
      }
    }
    return CompletableFuture.allOf(answers.values().toArray(CompletableFuture[]::new)).thenApply(ignored -> {
      Map<String, String> done = new TreeMap<>();
      answers.forEach((member, answer) -> done.put(member, answer.join()));
      return Broadcast.json("prefix", prefix, done);
    });
  }

  /**
   * A ban another member gave, seen in the membership's store: applied here (once per id) on this
   * object's own thread, since the walk takes a while. Never blocks.
   */
  public void applyStored(String id, String prefix) {
    try {
      retries.execute(() -> group.ban(id, prefix));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closed meanwhile: the node is stopping
    }
  }

  private CompletableFuture<String> send(String member, String id, String prefix) {
    List<String> headers = new ArrayList<>(4);
    if (!token.isEmpty()) {
      headers.add("Authorization");
      headers.add("Bearer " + token);
    }
    headers.add(PeerProtocol.BAN_ID_HEADER.toString());
    headers.add(id);
    return Broadcast.delete(pool, member, PeerProtocol.banPath(group.name(), prefix), headers, timeout);
  }

  private void retryLater(String member, String id, String prefix, long pauseMillis, long giveUpAt) {
    if (nanoTime.getAsLong() + TimeUnit.MILLISECONDS.toNanos(pauseMillis) > giveUpAt || retries.isShutdown()) {
      return;
    }
    try {
      retries.schedule(() -> send(member, id, prefix).thenAccept(answer -> {
        if (Broadcast.failed(answer)) {
          retryLater(member, id, prefix, Math.min(MAX_RETRY_MILLIS, pauseMillis * 2), giveUpAt);
        }
      }), pauseMillis, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closed meanwhile: the node is stopping
    }
  }

  /** Stops retrying. */
  @Override
  public void close() {
    retries.shutdownNow();
  }
}
