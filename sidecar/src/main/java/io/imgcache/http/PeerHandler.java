package io.imgcache.http;

import io.imgcache.auth.BearerToken;
import io.imgcache.cache.CachePolicy;
import io.imgcache.cache.CachedResponse;
import io.imgcache.group.Group;
import io.imgcache.group.Request;
import io.imgcache.group.Result;
import io.imgcache.group.Source;
import io.imgcache.httpclient.OpenResponse;
import io.imgcache.key.InvalidKeyException;
import io.imgcache.key.KeyPolicy;
import io.imgcache.metrics.Metrics;
import io.imgcache.metrics.NodeStatus;
import io.imgcache.peer.ClusterPurge;
import io.imgcache.peer.PeerProtocol;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import io.undertow.util.SameThreadExecutor;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Serves the peer protocol: {@code GET /_groupcache/_health}, {@code GET /_groupcache/_status}
 * (this node's figures) and {@code GET /_groupcache/<group>/<base64url key>}. A key request is answered by this node as the owner —
 * from its main cache or a coalesced load from its own origin — and never forwarded, whatever this
 * node's ring says: one hop at most. Hits are answered on the IO thread.
 */
public final class PeerHandler implements HttpHandler {
  private static final byte[] OK = "ok\n".getBytes(StandardCharsets.US_ASCII);

  private final Group group;
  private final String groupPrefix;
  private final String banPrefix;
  private final KeyPolicy keys;
  private final BearerToken token; // not set = no token required
  private final BearerToken adminToken;
  private final CachePolicy clock;
  private final Duration relayTimeout;
  private final Metrics metrics;
  private final NodeStatus status;

  /**
   * @param token the peer token ("" = none)
   * @param adminToken also accepted for purges and the status ("" = none); with neither token set,
   *     they are open like everything else on the peer port
   * @param relayTimeout bounds the transfer of a too-large answer streamed to the asking node (origin.timeout)
   * @param status this node's figures, for {@code GET /_groupcache/_status}
   */
  public PeerHandler(Group group, KeyPolicy keys, String token, String adminToken, CachePolicy clock,
      Duration relayTimeout, Metrics metrics, NodeStatus status) {
    this.clock = clock;
    this.relayTimeout = relayTimeout;
    this.group = group;
    this.groupPrefix = PeerProtocol.PREFIX + group.name() + '/';
    this.banPrefix = PeerProtocol.BAN_PREFIX + group.name() + '/';
    this.keys = keys;
    this.token = new BearerToken(token);
    this.adminToken = new BearerToken(adminToken);
    this.metrics = metrics;
    this.status = status;
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
    boolean figures = !purge && path.equals(PeerProtocol.STATUS_PATH);
    if (purge || figures ? !peerOrAdmin(exchange) : token.isSet() && !token.matches(exchange)) {
      exchange.getResponseHeaders().put(Headers.WWW_AUTHENTICATE, "Bearer");
      error(exchange, 401, PeerProtocol.ERROR_UNAUTHORIZED, "missing or wrong peer token");
      return;
    }
    if (figures) {
      Responses.send(exchange, 200, Responses.JSON, status.report().toString().getBytes(StandardCharsets.UTF_8));
      return;
    }
    if (purge && path.startsWith(banPrefix)) {
      ban(exchange, path.substring(banPrefix.length()));
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
    Request request = Requests.peer(exchange, key);
    if ("1".equals(exchange.getRequestHeaders().getFirst(PeerProtocol.CACHED_ONLY_HEADER))) {
      CompletableFuture<CachedResponse> found = group.cached(request); // memory, else disk
      if (found.isDone()) {
        answerCached(exchange, found.join());
      } else {
        exchange.dispatch(SameThreadExecutor.INSTANCE,
            () -> found.thenAcceptAsync(cached -> answerCached(exchange, cached), exchange.getIoThread()));
      }
      return;
    }
    metrics.peerServed();
    CompletableFuture<Result> answer = exchange.getRequestHeaders().contains(PeerProtocol.LOAD_FOR_HEADER)
        ? group.loadFor(request)
        : group.getAsOwner(request);
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

  /** A ban from the member that was given it: applied once per id, the walk on a worker thread. */
  private void ban(HttpServerExchange exchange, String segment) {
    String id = exchange.getRequestHeaders().getFirst(PeerProtocol.BAN_ID_HEADER);
    String prefix;
    try {
      prefix = segment.isEmpty() || segment.indexOf('/') >= 0 ? "" : PeerProtocol.decodeKey(segment);
    } catch (IllegalArgumentException e) {
      prefix = "";
    }
    if (id == null || id.isEmpty() || !prefix.startsWith("/") || prefix.length() > keys.maxLength()) {
      error(exchange, 400, PeerProtocol.ERROR_BAD_REQUEST, "a ban needs " + PeerProtocol.BAN_ID_HEADER
          + " and one base64url segment naming a prefix that starts with /");
      return;
    }
    String banned = prefix;
    exchange.dispatch(() -> {
      byte[] body = ClusterPurge.answer(group.ban(id, banned)).getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
      exchange.getResponseSender().send(ByteBuffer.wrap(body));
    });
  }

  private void answerCached(HttpServerExchange exchange, CachedResponse cached) {
    if (cached == null || !cached.fresh(clock.now())) {
      if (cached != null) {
        cached.release(); // a lent disk read
      }
      error(exchange, 404, PeerProtocol.ERROR_NOT_CACHED, "not cached here");
    } else {
      respond(exchange, new Result(Source.HIT, cached));
    }
  }

  /** For purges, bans and the status: either token, or nothing when neither is set. */
  private boolean peerOrAdmin(HttpServerExchange exchange) {
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

  private void respond(HttpServerExchange exchange, Result result) {
    ResponseWriter.toPeer(exchange, result, clock.now());
  }

  private void fail(HttpServerExchange exchange, Throwable failure) {
    OpenResponse open = OversizedAnswer.claim(failure);
    if (open != null) {
      // Too large to cache anywhere: the asking node gets the origin's answer as it arrives, marked
      // too-large so that it streams it on without storing it (one origin request for its client).
      exchange.getResponseHeaders().put(PeerProtocol.ERROR_HEADER, PeerProtocol.ERROR_TOO_LARGE);
      OversizedAnswer.relay(exchange, open, false, relayTimeout);
      return;
    }
    Failure answer = Failure.of(failure);
    error(exchange, answer.status(), answer.peerKind(), answer.reason());
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
