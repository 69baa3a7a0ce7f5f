package io.imgcache.peer;

import io.imgcache.group.Group;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.metrics.Json;
import io.imgcache.ring.Cluster;
import io.undertow.util.Methods;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Removes a key from every member: this node's caches directly, every other member's through
 * {@code DELETE /_groupcache/<group>/<key>} — a best-effort broadcast, so the owner's main-cache
 * copy and every hot copy go. Thread-safe and non-blocking.
 */
public final class ClusterPurge {
  private static final Pattern REMOVED = Pattern.compile("\"removed\"\\s*:\\s*(\\d+)");

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
        answers.put(member, pool.send(Methods.DELETE, URI.create(member), PeerProtocol.path(group.name(), key),
                headers, timeout, 4096)
            .handle((response, failure) -> {
              if (failure != null) {
                return "error: " + failure.getMessage();
              }
              Matcher m = REMOVED.matcher(new String(response.body(), StandardCharsets.UTF_8));
              return response.status() == 200 && m.find() ? m.group(1) : "error: answered " + response.status();
            }));
      }
    }
    return CompletableFuture.allOf(answers.values().toArray(CompletableFuture[]::new)).thenApply(ignored -> {
      Json json = new Json().beginObject().name("key").value(key).name("removed").beginObject();
      long total = 0;
      for (Map.Entry<String, CompletableFuture<String>> answer : answers.entrySet()) {
        String value = answer.getValue().join();
        json.name(answer.getKey());
        if (value.startsWith("error")) {
          json.value(value);
        } else {
          json.value(Long.parseLong(value));
          total += Long.parseLong(value);
        }
      }
      return json.endObject().name("total").value(total).endObject().toString();
    });
  }

  /** The body a peer answers a purge with (the protocol's purge answer). */
  public static String answer(int removed) {
    return "{\"removed\":" + removed + "}";
  }
}
