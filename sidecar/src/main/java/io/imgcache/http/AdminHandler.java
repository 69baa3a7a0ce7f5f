package io.imgcache.http;

import io.imgcache.auth.BearerToken;
import io.imgcache.group.Group;
import io.imgcache.key.InvalidKeyException;
import io.imgcache.key.KeyPolicy;
import io.imgcache.metrics.Json;
import io.imgcache.metrics.Metrics;
import io.imgcache.metrics.NodeStatus;
import io.imgcache.metrics.StatsJson;
import io.imgcache.peer.ClusterBan;
import io.imgcache.peer.ClusterPurge;
import io.imgcache.peer.ClusterStatus;
import io.imgcache.ring.Cluster;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import io.undertow.util.SameThreadExecutor;
import java.net.InetAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * The node's own endpoints, all under {@code /_imgcache/} (DESIGN §9): {@code healthz}, {@code
 * readyz} and {@code metrics} open to all, the rest admin (the admin token when one is set, else
 * loopback clients only). Every other path belongs to the origin.
 */
final class AdminHandler {
  private final Metrics metrics;
  private final Cluster cluster;
  private final Group group;
  private final KeyPolicy keys;
  private final ClusterPurge purge;
  private final ClusterBan ban;
  private final NodeStatus status;
  private final ClusterStatus clusterStatus;
  private final BooleanSupplier ready;
  private final BearerToken adminToken; // not set = loopback only

  AdminHandler(Metrics metrics, Cluster cluster, Group group, KeyPolicy keys, ClusterPurge purge, ClusterBan ban,
      NodeStatus status, ClusterStatus clusterStatus, BooleanSupplier ready, String adminToken) {
    this.ban = ban;
    this.metrics = metrics;
    this.cluster = cluster;
    this.group = group;
    this.keys = keys;
    this.purge = purge;
    this.status = status;
    this.clusterStatus = clusterStatus;
    this.ready = ready;
    this.adminToken = new BearerToken(adminToken);
  }

  /** Every path of the node's own endpoints starts with this; no other path is the node's. */
  static final String PREFIX = "/_imgcache/";

  /** The handler for {@code path}, which starts with {@link #PREFIX}; unknown ones answer 404. */
  HttpHandler route(String path) {
    return switch (path) {
      case PREFIX + "healthz" -> ex -> Responses.text(ex, 200, "ok");
      case PREFIX + "readyz" -> ex -> Responses.text(ex, ready.getAsBoolean() ? 200 : 503,
          ready.getAsBoolean() ? "ready" : "membership not loaded yet");
      // Scraping reads JVM MXBeans: off the IO thread.
      case PREFIX + "metrics" -> ex -> ex.dispatch(() -> Responses.send(ex, 200, metrics.textContentType(), metrics.text()));
      case "/_imgcache/stats" -> admin(ex -> ex.dispatch(
          () -> Responses.send(ex, 200, Responses.JSON, StatsJson.render(metrics).getBytes(StandardCharsets.UTF_8))));
      case "/_imgcache/ring" -> admin(ex -> Responses.send(ex, 200, Responses.JSON,
          ringJson(cluster.snapshot()).getBytes(StandardCharsets.UTF_8)));
      case "/_imgcache/cache" -> admin(this::cache);
      case "/_imgcache/ban" -> admin(this::ban);
      case "/_imgcache/status" -> admin(ex -> Responses.send(ex, 200, Responses.JSON,
          status.report().toString().getBytes(StandardCharsets.UTF_8)));
      // Waits for every member's answer: completes on a peer client IO thread, sent from ours.
      case "/_imgcache/cluster" -> admin(ex -> sendLater(ex, clusterStatus.report().thenApply(Object::toString)));
      // The node's own namespace: an unknown path here is never the origin's.
      default -> ex -> Responses.text(ex, 404, "no such imgcache endpoint: " + path);
    };
  }

  /** {@code PURGE <target>}: removes the target's key everywhere (admin only). */
  HttpHandler purgeHandler() {
    return admin(exchange -> {
      String query = exchange.getQueryString();
      purge(exchange, exchange.getRequestURI(), query);
    });
  }

  /**
   * {@code GET /_imgcache/cache?key=<target>}: where this node holds the target's key; {@code
   * DELETE} the same: purge it everywhere.
   */
  private void cache(HttpServerExchange exchange) {
    Deque<String> param = exchange.getQueryParameters().get("key");
    if (param == null || param.isEmpty() || param.getFirst().isEmpty()) {
      Responses.text(exchange, 400, "key=<request target> is required, e.g. key=/v2/image/png/003%3Fw%3D850");
      return;
    }
    String target = URLDecoder.decode(param.getFirst(), StandardCharsets.UTF_8);
    int q = target.indexOf('?');
    String path = q < 0 ? target : target.substring(0, q);
    String query = q < 0 ? null : target.substring(q + 1);
    if (exchange.getRequestMethod().equals(Methods.DELETE)) {
      purge(exchange, path, query);
    } else if (exchange.getRequestMethod().equals(Methods.GET)) {
      String key = key(exchange, path, query);
      if (key != null) {
        Group.Holding holding = group.holding(key);
        Responses.send(exchange, 200, Responses.JSON, new Json().beginObject().name("key").value(key)
            .name("main").value(holding.main()).name("hot").value(holding.hot()).endObject().toString()
            .getBytes(StandardCharsets.UTF_8));
      }
    } else {
      exchange.getResponseHeaders().put(Headers.ALLOW, "GET, DELETE");
      Responses.text(exchange, 405, "GET or DELETE");
    }
  }

  /**
   * {@code POST /_imgcache/ban?prefix=<target prefix>}: bans every key whose canonical target starts
   * with the prefix on every member (all variants, main and hot copies). The walk of this node's
   * caches runs on a worker thread, never an IO thread.
   */
  private void ban(HttpServerExchange exchange) {
    if (!exchange.getRequestMethod().equals(Methods.POST)) {
      exchange.getResponseHeaders().put(Headers.ALLOW, "POST");
      Responses.text(exchange, 405, "POST /_imgcache/ban?prefix=<target prefix>");
      return;
    }
    Deque<String> param = exchange.getQueryParameters().get("prefix");
    String prefix = param == null || param.isEmpty() ? "" : URLDecoder.decode(param.getFirst(), StandardCharsets.UTF_8);
    if (!prefix.startsWith("/") || prefix.length() > keys.maxLength()) {
      Responses.text(exchange, 400, "prefix=<target prefix> is required: it starts with / and is at most "
          + keys.maxLength() + " bytes, e.g. prefix=/v2/image/png/003");
      return;
    }
    exchange.dispatch(() -> ban.ban(prefix).thenAcceptAsync(
        json -> Responses.send(exchange, 200, Responses.JSON, json.getBytes(StandardCharsets.UTF_8)),
        exchange.getIoThread()));
  }

  private void purge(HttpServerExchange exchange, String path, String query) {
    String key = key(exchange, path, query);
    if (key == null) {
      return;
    }
    sendLater(exchange, purge.purge(key));
  }

  /** Answers 200 with {@code json} once it completes (never exceptionally), on the exchange's IO thread. */
  private static void sendLater(HttpServerExchange exchange, CompletableFuture<String> json) {
    exchange.dispatch(SameThreadExecutor.INSTANCE, () -> json.thenAcceptAsync(
        body -> Responses.send(exchange, 200, Responses.JSON, body.getBytes(StandardCharsets.UTF_8)),
        exchange.getIoThread()));
  }

  /** The key for a target, or null after answering 400/414. */
  private String key(HttpServerExchange exchange, String path, String query) {
    try {
      return keys.keyFor(path, query);
    } catch (InvalidKeyException e) {
      Responses.text(exchange, e.status(), e.getMessage());
      return null;
    }
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
