package io.imgcache.http;

import io.imgcache.auth.BearerToken;
import io.imgcache.metrics.Json;
import io.imgcache.metrics.Metrics;
import io.imgcache.metrics.StatsJson;
import io.imgcache.ring.Cluster;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/**
 * The node's own endpoints: {@code /healthz}, {@code /readyz} and {@code /metrics} (open to all),
 * and {@code /_imgcache/...} (admin: the admin token when one is set, else loopback clients only).
 */
final class AdminHandler {
  private final Metrics metrics;
  private final Cluster cluster;
  private final BooleanSupplier ready;
  private final BearerToken adminToken; // not set = loopback only

  AdminHandler(Metrics metrics, Cluster cluster, BooleanSupplier ready, String adminToken) {
    this.metrics = metrics;
    this.cluster = cluster;
    this.ready = ready;
    this.adminToken = new BearerToken(adminToken);
  }

  /** The handler for {@code path}, or null when the path is not one of ours. */
  HttpHandler route(String path) {
    return switch (path) {
      case "/healthz" -> ex -> Responses.text(ex, 200, "ok");
      case "/readyz" -> ex -> Responses.text(ex, ready.getAsBoolean() ? 200 : 503,
          ready.getAsBoolean() ? "ready" : "membership not loaded yet");
      // Scraping reads JVM MXBeans: off the IO thread.
      case "/metrics" -> ex -> ex.dispatch(() -> Responses.send(ex, 200, metrics.textContentType(), metrics.text()));
      case "/_imgcache/stats" -> admin(ex -> ex.dispatch(
          () -> Responses.send(ex, 200, Responses.JSON, StatsJson.render(metrics).getBytes(StandardCharsets.UTF_8))));
      case "/_imgcache/ring" -> admin(ex -> Responses.send(ex, 200, Responses.JSON,
          ringJson(cluster.snapshot()).getBytes(StandardCharsets.UTF_8)));
      default -> null;
    };
  }

  /** Wraps {@code next} in the admin check and restricts it to GET. */
  HttpHandler admin(HttpHandler next) {
    return exchange -> {
      if (!authorised(exchange)) {
        exchange.getResponseHeaders().put(Headers.WWW_AUTHENTICATE, "Bearer");
        Responses.text(exchange, 401, !adminToken.isSet()
            ? "admin endpoints answer loopback clients only (set admin.token to allow others)"
            : "missing or wrong admin token");
        return;
      }
      next.handleRequest(exchange);
    };
  }

  /** Whether the request may use admin endpoints. */
  boolean authorised(HttpServerExchange exchange) {
    if (!adminToken.isSet()) {
      InetAddress address = exchange.getSourceAddress().getAddress();
      return address.isLoopbackAddress();
    }
    return adminToken.matches(exchange);
  }

  /** {@code {"self": url, "members": [{"url", "healthy", "share"}...]}}: what this node believes now. */
  static String ringJson(Cluster.Snapshot snapshot) {
    Json json = new Json().beginObject().name("self").value(snapshot.self()).name("members").beginArray();
    for (String member : snapshot.members()) {
      json.beginObject()
          .name("url").value(member)
          .name("healthy").value(snapshot.healthy(member))
          .name("share").value(snapshot.ring().share(member))
          .endObject();
    }
    return json.endArray().endObject().toString();
  }
}
