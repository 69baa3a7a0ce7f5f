package io.imgcache.peer;

import io.imgcache.group.Group;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.ring.Cluster;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * Removes a key from every member: this node's caches directly, every other member's through
 * {@code DELETE /_groupcache/<group>/<key>} — a best-effort broadcast, so the owner's main-cache
 * copy and every hot copy go. Thread-safe and non-blocking.
 */
public final class ClusterPurge {
  private final Cluster cluster;
  private final Group group;
  private final PooledHttpClient pool;
  private final List<String> headers;
  private final Duration timeout;

  /** {@code token} authenticates us to the peers' purge endpoint (the peer token, else the admin token). */
  public ClusterPurge(Cluster cluster, Group group, PooledHttpClient pool, String token, Duration timeout) {
    this.cluster = cluster;
    this.group = group;
    this.pool = pool;
    this.headers = token.isEmpty() ? List.of() : List.of("Authorization", "Bearer " + token);
    this.timeout = timeout;
  }

  /**
   * Purges {@code key} everywhere; completes (never exceptionally) with the JSON answer: {@code
   * {"key": k, "removed": {"<member url>": copies or "error: ..."}, "total": n}}.
   */
  public CompletableFuture<String> purge(String key) {
    Map<String, CompletableFuture<String>> answers = new TreeMap<>();
    answers.put(cluster.self(), CompletableFuture.completedFuture(Integer.toString(group.purge(key))));
    for (String member : cluster.snapshot().members()) {
      if (!member.equals(cluster.self())) {
        answers.put(member, Broadcast.delete(pool, member, PeerProtocol.path(group.name(), key), headers, timeout));
      }
    }
    return CompletableFuture.allOf(answers.values().toArray(CompletableFuture[]::new)).thenApply(ignored -> {
      Map<String, String> done = new TreeMap<>();
      answers.forEach((member, answer) -> done.put(member, answer.join()));
      return Broadcast.json("key", key, done);
    });
  }

  /** The body a peer answers a purge with (the protocol's purge answer). */
  public static String answer(int removed) {
    return Broadcast.answer(removed);
  }
}
