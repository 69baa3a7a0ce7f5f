package io.imgcache.peer;

import io.imgcache.group.Failures;
import io.imgcache.httpclient.HttpResponse;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.metrics.Json;
import io.imgcache.metrics.NodeReport;
import io.imgcache.ring.Cluster;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Builds the {@link ClusterReport}: asks every other member for its figures ({@code GET
 * /_groupcache/_status}) at once, each with its own deadline, and merges the answers with this
 * node's view of health and ring shares. Thread-safe and non-blocking: the answers complete on the
 * peer client's IO threads (or, for a member past its deadline, the JDK's delay thread).
 */
public final class ClusterStatus {
  /** A member that has not answered within this is reported without figures. */
  public static final Duration MEMBER_TIMEOUT = Duration.ofSeconds(2);
  private static final long MAX_ANSWER = 64 * 1024;

  private final Cluster cluster;
  private final Supplier<NodeReport> self;
  private final PooledHttpClient pool;
  private final List<String> headers;

  /**
   * @param self this node's own figures, computed when asked
   * @param pool the peer client
   * @param token authenticates us to the members' status endpoint (the peer token, else the admin token)
   */
  public ClusterStatus(Cluster cluster, Supplier<NodeReport> self, PooledHttpClient pool, String token) {
    this.cluster = cluster;
    this.self = self;
    this.pool = pool;
    this.headers = token.isEmpty() ? List.of() : List.of("Authorization", "Bearer " + token);
  }

  /** The report; completes (never exceptionally) within about {@link #MEMBER_TIMEOUT}. */
  public CompletableFuture<ClusterReport> report() {
    Cluster.Snapshot snapshot = cluster.snapshot();
    List<CompletableFuture<ClusterReport.Member>> members = new ArrayList<>();
    for (String member : snapshot.members()) {
      boolean healthy = snapshot.healthy(member);
      double share = snapshot.ring().share(member);
      if (member.equals(snapshot.self())) {
        members.add(CompletableFuture.completedFuture(new ClusterReport.Member(member, true, share, self.get(), null)));
        continue;
      }
      members.add(pool.get(URI.create(member), PeerProtocol.STATUS_PATH, headers, MEMBER_TIMEOUT, MAX_ANSWER)
          .handle((response, failure) -> failure != null
              ? new ClusterReport.Member(member, healthy, share, null, Failures.cause(failure).getMessage())
              : answer(member, healthy, share, response))
          // Also bounds the wait for a connection and the connect, which the exchange timeout does not.
          .completeOnTimeout(new ClusterReport.Member(member, healthy, share, null,
              "no answer within " + MEMBER_TIMEOUT.toMillis() + "ms"), MEMBER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
    }
    return CompletableFuture.allOf(members.toArray(CompletableFuture[]::new))
        .thenApply(ignored -> new ClusterReport(snapshot.self(), members.stream().map(CompletableFuture::join).toList()));
  }

  private static ClusterReport.Member answer(String member, boolean healthy, double share, HttpResponse response) {
    String body = new String(response.body(), StandardCharsets.UTF_8);
    if (response.status() != 200) {
      String reason = body.lines().findFirst().orElse("").trim();
      return new ClusterReport.Member(member, healthy, share, null, "answered " + response.status()
          + (response.status() == 404 ? " (no status endpoint: an older version?)" : reason.isEmpty() ? "" : ": " + reason));
    }
    NodeReport report;
    try {
      report = NodeReport.read(Json.read(body));
    } catch (IllegalArgumentException e) {
      return new ClusterReport.Member(member, healthy, share, null, "malformed status answer: " + e.getMessage());
    }
    if (!report.url().equals(member)) {
      // Another node behind this address, or one whose self-url is not what the others list.
      return new ClusterReport.Member(member, healthy, share, null, "answered as " + report.url()
          + " (is its self-url right?)");
    }
    return new ClusterReport.Member(member, healthy, share, report, null);
  }
}
