package io.imgcache;

import io.imgcache.peer.ClusterReport;
import io.imgcache.peer.ClusterStatus;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * {@code imgcache status --url URL [--token T] [--json]}: asks the node at URL for the cluster as
 * it sees it ({@code GET /_imgcache/cluster}, which asks every member) and prints a table or, with
 * {@code --json}, that answer itself. Exit status 0 when every member is healthy, answering and
 * ready, 1 otherwise or when the node cannot be asked; bad arguments throw {@link
 * IllegalArgumentException} (a usage error). Blocks for at most {@link #REQUEST_TIMEOUT} plus the connect.
 */
final class StatusCommand {
  /** The node answers within about {@link ClusterStatus#MEMBER_TIMEOUT}; a busy one gets a margin. */
  static final Duration REQUEST_TIMEOUT = ClusterStatus.MEMBER_TIMEOUT.plusSeconds(8);

  private StatusCommand() {}

  /** {@code token} null or empty: none sent. */
  static int run(String url, String token, boolean json, PrintStream out, PrintStream err) {
    URI base = NodeCall.nodeUrl(url, "status");
    String node = NodeCall.name(base);
    HttpRequest request = NodeCall.withToken(HttpRequest.newBuilder(base.resolve("/_imgcache/cluster"))
        .timeout(REQUEST_TIMEOUT).GET(), token).build();
    boolean withToken = token != null && !token.isEmpty();
    HttpResponse<String> response = NodeCall.send(request, node, err);
    if (response == null) {
      return 1;
    }
    String reason = response.body().lines().findFirst().orElse("").trim();
    if (response.statusCode() == 401) {
      return NodeCall.fail(err, node + " refused: " + reason + (withToken ? "" : " (give the admin token with --token)"));
    }
    if (response.statusCode() != 200) {
      return NodeCall.fail(err, node + " answered " + response.statusCode() + (reason.isEmpty() ? "" : ": " + reason));
    }
    ClusterReport report;
    try {
      report = ClusterReport.parse(response.body());
    } catch (IllegalArgumentException e) {
      return NodeCall.fail(err, node + " gave no cluster status: " + e.getMessage());
    }
    out.print(json ? response.body() + "\n" : StatusTable.render(report));
    return report.allFine() ? 0 : 1;
  }
}
