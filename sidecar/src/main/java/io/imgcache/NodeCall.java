package io.imgcache;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
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
 * One request from the command line ({@code imgcache status}, {@code imgcache ban}) to a node's own
 * endpoints: the node's URL checked, the admin token sent when given, no proxy, no thread left
 * behind, and one line on stderr when the node does not answer.
 */
final class NodeCall {
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

  private NodeCall() {}

  /**
   * {@code http://host:port/}, from {@code url} with a trailing {@code /} or none.
   *
   * @throws IllegalArgumentException (a usage error) for anything else; {@code command} names the command in the message
   */
  static URI nodeUrl(String url, String command) {
    if (url == null) {
      throw new IllegalArgumentException(command + " needs --url, e.g. --url http://127.0.0.1:9000");
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

  /** The node as the user named it: {@code base} without its trailing {@code /}. */
  static String name(URI base) {
    String text = base.toString();
    return text.substring(0, text.length() - 1);
  }

  /** {@code request} with {@code Authorization: Bearer token} when a token is given (null or empty: none). */
  static HttpRequest.Builder withToken(HttpRequest.Builder request, String token) {
    return token == null || token.isEmpty() ? request : request.header("Authorization", "Bearer " + token);
  }

  /**
   * Sends {@code request} to {@code node}; the answer, or null after printing why there is none
   * ({@code imgcache: <node> does not answer: ...}) to {@code err}.
   */
  static HttpResponse<String> send(HttpRequest request, String node, PrintStream err) {
    ExecutorService thread = Executors.newSingleThreadExecutor(
        new ThreadFactoryBuilder().setNameFormat("imgcache-cli-client").setDaemon(true).build());
    try {
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(thread)
          .connectTimeout(CONNECT_TIMEOUT).followRedirects(HttpClient.Redirect.NEVER)
          .proxy(HttpClient.Builder.NO_PROXY) // a node is asked directly, as its peers ask it
          .build();
      return client.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (HttpConnectTimeoutException e) {
      fail(err, node + " does not answer: no connection within " + CONNECT_TIMEOUT.toSeconds() + " s");
    } catch (HttpTimeoutException e) {
      fail(err, node + " does not answer: no response within "
          + request.timeout().map(Duration::toSeconds).orElse(0L) + " s");
    } catch (IOException e) {
      fail(err, node + " does not answer: " + describe(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      fail(err, "interrupted");
    } finally {
      thread.shutdownNow();
    }
    return null;
  }

  /** Prints {@code imgcache: problem} and returns exit status 1. */
  static int fail(PrintStream err, String problem) {
    err.println("imgcache: " + problem);
    return 1;
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
}
