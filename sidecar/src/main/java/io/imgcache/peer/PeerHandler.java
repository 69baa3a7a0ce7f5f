package io.imgcache.peer;

import io.imgcache.auth.BearerToken;
import io.imgcache.cache.CachedResponse;
import io.imgcache.group.Failures;
import io.imgcache.group.Group;
import io.imgcache.group.Result;
import io.imgcache.group.Source;
import io.imgcache.key.InvalidKeyException;
import io.imgcache.key.KeyPolicy;
import io.imgcache.metrics.Metrics;
import io.imgcache.group.ObjectTooLargeException;
import io.imgcache.origin.OriginException;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import io.undertow.util.SameThreadExecutor;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * Serves the peer protocol: {@code GET /_groupcache/_health} and {@code GET
 * /_groupcache/<group>/<base64url key>}. A key request is answered by this node as the owner —
 * from its main cache or a coalesced load from its own origin — and never forwarded, whatever this
 * node's ring says: one hop at most. Hits are answered on the IO thread.
 */
public final class PeerHandler implements HttpHandler {
  private static final HttpString X_CACHE = HttpString.tryFromString("X-Cache");
  private static final byte[] OK = "ok\n".getBytes(StandardCharsets.US_ASCII);

  private final Group group;
  private final String groupPrefix;
  private final KeyPolicy keys;
  private final BearerToken token; // not set = no token required
  private final BearerToken adminToken;
  private final Metrics metrics;

  /**
   * @param token the peer token ("" = none)
   * @param adminToken also accepted for purges ("" = none); with neither token set, purges are open
   *     like everything else on the peer port
   */
  public PeerHandler(Group group, KeyPolicy keys, String token, String adminToken, Metrics metrics) {
    this.group = group;
    this.groupPrefix = PeerProtocol.PREFIX + group.name() + '/';
    this.keys = keys;
    this.token = new BearerToken(token);
    this.adminToken = new BearerToken(adminToken);
    this.metrics = metrics;
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) {
    String path = exchange.getRequestPath();
    boolean purge = exchange.getRequestMethod().equals(Methods.DELETE);
    if (!purge && !exchange.getRequestMethod().equals(Methods.GET)) {
      error(exchange, 405, PeerProtocol.ERROR_BAD_REQUEST, "the peer protocol takes GET and DELETE only");
      return;
    }
    if (path.equals(PeerProtocol.HEALTH_PATH)) {
      exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain");
      exchange.getResponseSender().send(ByteBuffer.wrap(OK));
      return;
    }
    if (purge ? !mayPurge(exchange) : token.isSet() && !token.matches(exchange)) {
      exchange.getResponseHeaders().put(Headers.WWW_AUTHENTICATE, "Bearer");
      error(exchange, 401, PeerProtocol.ERROR_UNAUTHORIZED, "missing or wrong peer token");
      return;
    }
    if (!path.startsWith(groupPrefix)) {
      error(exchange, 404, PeerProtocol.ERROR_UNKNOWN_GROUP, "unknown group");
      return;
    }
    String key;
    try {
      key = validKey(path.substring(groupPrefix.length()));
    } catch (IllegalArgumentException e) {
      error(exchange, 400, PeerProtocol.ERROR_BAD_REQUEST, e.getMessage());
      return;
    }
    if (purge) {
      byte[] body = ClusterPurge.answer(group.purge(key)).getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
      exchange.getResponseSender().send(ByteBuffer.wrap(body));
      return;
    }
    if ("1".equals(exchange.getRequestHeaders().getFirst(PeerProtocol.CACHED_ONLY_HEADER))) {
      CachedResponse cached = group.peek(key);
      if (cached == null) {
        error(exchange, 404, PeerProtocol.ERROR_NOT_CACHED, "not in memory");
      } else {
        respond(exchange, new Result(Source.HIT, cached));
      }
      return;
    }
    metrics.peerServed();
    CompletableFuture<Result> answer = group.getAsOwner(key);
    if (answer.isDone() && !answer.isCompletedExceptionally()) {
      respond(exchange, answer.join()); // a main-cache hit: answered on the IO thread
      return;
    }
    exchange.dispatch(SameThreadExecutor.INSTANCE, () -> answer
        .whenCompleteAsync((result, failure) -> {
          if (failure == null) {
            respond(exchange, result);
          } else {
            fail(exchange, failure);
          }
        }, exchange.getIoThread()));
  }

  private boolean mayPurge(HttpServerExchange exchange) {
    if (!token.isSet() && !adminToken.isSet()) {
      return true;
    }
    return token.matches(exchange) || adminToken.matches(exchange);
  }

  private String validKey(String segment) {
    if (segment.isEmpty() || segment.indexOf('/') >= 0) {
      throw new IllegalArgumentException("key must be one base64url path segment");
    }
    String key;
    try {
      key = PeerProtocol.decodeKey(segment);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("key is not valid unpadded base64url");
    }
    if (key.length() > keys.maxLength()) {
      throw new IllegalArgumentException("key longer than " + keys.maxLength() + " bytes");
    }
    int q = key.indexOf('?');
    try {
      String normalised = q < 0 ? keys.keyFor(key, null) : keys.keyFor(key.substring(0, q), key.substring(q + 1));
      if (!normalised.equals(key)) {
        throw new IllegalArgumentException("key is not in normal form (are the nodes' cache.key settings equal?)");
      }
    } catch (InvalidKeyException e) {
      throw new IllegalArgumentException("invalid key: " + e.getMessage());
    }
    return key;
  }

  private static void respond(HttpServerExchange exchange, Result result) {
    CachedResponse response = result.response();
    HeaderMap headers = exchange.getResponseHeaders();
    for (int i = 0; i < response.headerCount(); i++) {
      headers.add(response.httpHeaderName(i), response.headerValue(i));
    }
    headers.put(X_CACHE, result.source().header());
    headers.put(Headers.CONTENT_LENGTH, response.contentLength());
    exchange.setStatusCode(response.status());
    exchange.getResponseSender().send(response.body());
  }

  private static void fail(HttpServerExchange exchange, Throwable failure) {
    Throwable cause = Failures.cause(failure);
    if (cause instanceof ObjectTooLargeException) {
      error(exchange, 413, PeerProtocol.ERROR_TOO_LARGE, "body larger than the object size limit");
    } else if (cause instanceof OriginException e) {
      // 503: our origin pool is exhausted — busy, not broken; the asking node must not blame us.
      error(exchange, e.status(), e.status() == 503 ? PeerProtocol.ERROR_BUSY : PeerProtocol.ERROR_ORIGIN,
          e.getMessage());
    } else if (cause instanceof TimeoutException) {
      error(exchange, 504, PeerProtocol.ERROR_ORIGIN, "timed out waiting for the origin");
    } else {
      error(exchange, 502, PeerProtocol.ERROR_ORIGIN, "load failed: " + cause);
    }
  }

  private static void error(HttpServerExchange exchange, int status, String kind, String reason) {
    byte[] body = (reason + "\n").getBytes(StandardCharsets.UTF_8);
    exchange.setStatusCode(status);
    exchange.getResponseHeaders().put(PeerProtocol.ERROR_HEADER, kind);
    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
    exchange.getResponseHeaders().put(Headers.CONTENT_LENGTH, body.length);
    exchange.getResponseSender().send(ByteBuffer.wrap(body));
  }
}
