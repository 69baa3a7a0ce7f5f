package io.imgcache;

import io.imgcache.peer.ClusterReport;
import io.imgcache.peer.ClusterStatus;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * {@code imgcache status --url URL [--token T] [--json]}: asks the node at URL for the cluster as
 * it sees it ({@code GET /_imgcache/cluster}, which asks every member) and prints a table or, with
 * {@code --json}, that answer itself. Exit status 0 when every member is healthy, answering and
 * ready, 1 otherwise or when the node cannot be asked; bad arguments throw {@link
 * IllegalArgumentException} (a usage error). Blocks for at most {@link #REQUEST_TIMEOUT} plus the connect.
 */
final class StatusCommand {
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  /** The node answers within about {@link ClusterStatus#MEMBER_TIMEOUT}; a busy one gets a margin. */
  static final Duration REQUEST_TIMEOUT = ClusterStatus.MEMBER_TIMEOUT.plusSeconds(8);

  private StatusCommand() {}

  /** {@code token} null or empty: none sent. */
  static int run(String url, String token, boolean json, PrintStream out, PrintStream err) {
    URI base = nodeUrl(url);
    String node = base.toString().substring(0, base.toString().length() - 1); // as given, without the '/'
    HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("/_imgcache/cluster"))
        .timeout(REQUEST_TIMEOUT).GET();
    boolean withToken = token != null && !token.isEmpty();
    if (withToken) {
      request.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> response;
    ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "imgcache-status-client");
      t.setDaemon(true);
      return t;
    });
    try {
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(thread)
          .connectTimeout(CONNECT_TIMEOUT).followRedirects(HttpClient.Redirect.NEVER)
          .proxy(HttpClient.Builder.NO_PROXY) // a node is asked directly, as its peers ask it
          .build();
      response = client.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (HttpConnectTimeoutException e) {
      return fail(err, node + " does not answer: no connection within " + CONNECT_TIMEOUT.toSeconds() + " s");
    } catch (HttpTimeoutException e) {
      return fail(err, node + " does not answer: no response within " + REQUEST_TIMEOUT.toSeconds() + " s");
    } catch (IOException e) {
      return fail(err, node + " does not answer: " + describe(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return fail(err, "interrupted");
    } finally {
      thread.shutdownNow();
    }
    String reason = response.body().lines().findFirst().orElse("").trim();
    if (response.statusCode() == 401) {
      return fail(err, node + " refused: " + reason + (withToken ? "" : " (give the admin token with --token)"));
    }
    if (response.statusCode() != 200) {
      return fail(err, node + " answered " + response.statusCode() + (reason.isEmpty() ? "" : ": " + reason));
    }
    ClusterReport report;
    try {
      report = ClusterReport.parse(response.body());
    } catch (IllegalArgumentException e) {
      return fail(err, node + " gave no cluster status: " + e.getMessage());
    }
    out.print(json ? response.body() + "\n" : StatusTable.render(report));
    return report.allFine() ? 0 : 1;
  }

  /** The first message in the cause chain: java.net.http's ConnectException carries none itself. */
  private static String describe(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isEmpty()) {
        return t.getMessage();
      }
    }
    return failure instanceof ConnectException ? "cannot connect" : failure.getClass().getSimpleName();
  }

  private static int fail(PrintStream err, String problem) {
    err.println("imgcache: " + problem);
    return 1;
  }

  /** {@code http://host:port}, with a trailing {@code /} or none. */
  private static URI nodeUrl(String url) {
    if (url == null) {
      throw new IllegalArgumentException("status needs --url, e.g. --url http://127.0.0.1:9000");
    }
    try {
      URI uri = new URI(url);
      if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null
          && (uri.getRawPath() == null || uri.getRawPath().isEmpty() || uri.getRawPath().equals("/"))
          && uri.getRawQuery() == null && uri.getRawFragment() == null && uri.getRawUserInfo() == null) {
        return new URI(uri.getScheme(), null, uri.getHost(), uri.getPort(), "/", null, null);
      }
    } catch (URISyntaxException e) {
      // reported below
    }
    throw new IllegalArgumentException("--url must be a node's http://host:port, was " + url);
  }
}
