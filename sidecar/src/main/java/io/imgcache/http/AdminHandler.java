package io.imgcache.http;

import io.imgcache.metrics.Metrics;
import io.imgcache.metrics.StatsJson;
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
  private final BooleanSupplier ready;
  private final byte[] adminToken; // empty = loopback only

  AdminHandler(Metrics metrics, BooleanSupplier ready, String adminToken) {
    this.metrics = metrics;
    this.ready = ready;
    this.adminToken = adminToken.getBytes(StandardCharsets.UTF_8);
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
      default -> null;
    };
  }

  /** Wraps {@code next} in the admin check and restricts it to GET. */
  HttpHandler admin(HttpHandler next) {
    return exchange -> {
      if (!authorised(exchange)) {
        exchange.getResponseHeaders().put(Headers.WWW_AUTHENTICATE, "Bearer");
        Responses.text(exchange, 401, adminToken.length == 0
            ? "admin endpoints answer loopback clients only (set admin.token to allow others)"
            : "missing or wrong admin token");
        return;
      }
      next.handleRequest(exchange);
    };
  }

  /** Whether the request may use admin endpoints. */
  boolean authorised(HttpServerExchange exchange) {
    if (adminToken.length == 0) {
      InetAddress address = exchange.getSourceAddress().getAddress();
      return address.isLoopbackAddress();
    }
    return Tokens.matches(exchange, adminToken);
  }
}
