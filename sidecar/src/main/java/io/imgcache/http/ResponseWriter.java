package io.imgcache.http;

import io.imgcache.cache.CachedResponse;
import io.imgcache.group.Result;
import io.imgcache.group.Source;
import io.imgcache.origin.OriginClient;
import io.imgcache.peer.PeerProtocol;
import io.undertow.io.IoCallback;
import io.undertow.io.Sender;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.ByteRange;
import io.undertow.util.DateUtils;
import io.undertow.util.ETagUtils;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.StatusCodes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Date;
import java.util.Set;

/**
 * The one place a {@link CachedResponse} becomes an HTTP answer, for clients and for peers
 * (DESIGN §4, §7). Non-blocking: answers from memory on the calling (IO) thread.
 *
 * <p>To a client: the origin's status, headers and body, plus {@code X-Cache}, {@code Via} and,
 * for an answer from storage, {@code Age}; a conditional request that the stored response fails
 * gets 304, a single byte range 206 (or 416), as RFC 9110 §13 and §14 say. To a peer: the stored
 * response as it is, plus the protocol's age and lifetime headers.
 */
final class ResponseWriter {
  static final HttpString X_CACHE = HttpString.tryFromString("X-Cache");
  private static final String VIA = OriginClient.VIA;
  /** Headers a 304 carries over from the stored response (RFC 9110 §15.4.5), lower case. */
  private static final Set<String> NOT_MODIFIED_HEADERS =
      Set.of("cache-control", "content-location", "date", "etag", "expires", "vary");

  private ResponseWriter() {}

  /**
   * Answers a client's GET or HEAD with {@code result} at {@code now} (epoch milliseconds); returns
   * the status sent.
   */
  static int toClient(HttpServerExchange exchange, Result result, boolean head, long now) {
    CachedResponse response = result.response();
    HeaderMap out = exchange.getResponseHeaders();
    HeaderMap in = exchange.getRequestHeaders();
    boolean stored = result.source() != Source.MISS && result.source() != Source.PASS
        && result.source() != Source.FALLBACK;
    int status = response.status();
    if (status == 200 && (in.contains(Headers.IF_NONE_MATCH) || in.contains(Headers.IF_MODIFIED_SINCE))
        && notModified(exchange, response)) {
      for (int i = 0; i < response.headerCount(); i++) {
        if (NOT_MODIFIED_HEADERS.contains(response.httpHeaderName(i).toString().toLowerCase(java.util.Locale.ROOT))) {
          out.add(response.httpHeaderName(i), response.headerValue(i));
        }
      }
      decorate(out, result, stored, now);
      exchange.setStatusCode(StatusCodes.NOT_MODIFIED);
      exchange.endExchange();
      response.release();
      return StatusCodes.NOT_MODIFIED;
    }
    for (int i = 0; i < response.headerCount(); i++) {
      out.add(response.httpHeaderName(i), response.headerValue(i));
    }
    decorate(out, result, stored, now);
    ByteBuffer body = response.body();
    String range = status == 200 ? in.getFirst(Headers.RANGE) : null;
    if (range != null) {
      status = applyRange(exchange, response, range, body);
      if (status == StatusCodes.REQUEST_RANGE_NOT_SATISFIABLE) {
        response.release();
        return status;
      }
    }
    exchange.setStatusCode(status);
    out.put(Headers.CONTENT_LENGTH, status == 200 ? response.contentLength() : Integer.toString(body.remaining()));
    if (head || status == 204 || status == 304) {
      exchange.endExchange();
      response.release();
    } else {
      send(exchange, response, body);
    }
    return status;
  }

  /**
   * Answers a peer with {@code result} at {@code now}: status, stored headers, body, and the
   * owner's age and lifetime of the response (what makes the answer authoritative).
   */
  static void toPeer(HttpServerExchange exchange, Result result, long now) {
    CachedResponse response = result.response();
    HeaderMap out = exchange.getResponseHeaders();
    for (int i = 0; i < response.headerCount(); i++) {
      out.add(response.httpHeaderName(i), response.headerValue(i));
    }
    out.put(X_CACHE, result.source().header());
    out.put(PeerProtocol.AGE_HEADER, Long.toString(response.ageMillis(now)));
    out.put(PeerProtocol.LIFETIME_HEADER, PeerProtocol.lifetime(response.lifetimeMillis()));
    out.put(Headers.CONTENT_LENGTH, response.contentLength());
    exchange.setStatusCode(response.status());
    send(exchange, response, response.body());
  }

  /** Sends {@code body} (a view of {@code response}'s) and ends the exchange; a lent body is released once sent. */
  private static void send(HttpServerExchange exchange, CachedResponse response, ByteBuffer body) {
    if (!response.lent()) {
      exchange.getResponseSender().send(body);
      return;
    }
    exchange.getResponseSender().send(body, new IoCallback() {
      @Override
      public void onComplete(HttpServerExchange done, Sender sender) {
        response.release(); // written: the sender holds no view of it any more
        IoCallback.END_EXCHANGE.onComplete(done, sender);
      }

      @Override
      public void onException(HttpServerExchange failed, Sender sender, IOException exception) {
        response.release(); // the connection is gone; nothing more is written from it
        IoCallback.END_EXCHANGE.onException(failed, sender, exception);
      }
    });
  }

  private static void decorate(HeaderMap out, Result result, boolean stored, long now) {
    out.put(X_CACHE, result.source().header());
    out.add(Headers.VIA, VIA);
    if (stored || result.response().arrivedAged()) {
      // RFC 9111 §5.1: every answer from storage carries Age; one the origin just made carries
      // none, unless it came with an age of its own (an upstream cache's), which goes on, grown.
      out.put(Headers.AGE, Long.toString(result.response().ageSeconds(now)));
    }
  }

  /** Whether the request's conditions fail against {@code response}, i.e. the answer is 304 (RFC 9110 §13.2.2). */
  private static boolean notModified(HttpServerExchange exchange, CachedResponse response) {
    String ifNoneMatch = exchange.getRequestHeaders().getFirst(Headers.IF_NONE_MATCH);
    if (ifNoneMatch != null) {
      // "*" matches any current representation (RFC 9110 §13.1.2); ETagUtils only parses quoted tags.
      if (ifNoneMatch.trim().equals("*")) {
        return true;
      }
      String etag = response.etag();
      return etag != null && !ETagUtils.handleIfNoneMatch(ifNoneMatch, ETagUtils.parseETagList(etag), true);
    }
    String since = exchange.getRequestHeaders().getFirst(Headers.IF_MODIFIED_SINCE);
    String modified = response.lastModified() != null ? response.lastModified() : response.header("Date");
    Date lastModified = modified == null ? null : DateUtils.parseDate(modified);
    return since != null && lastModified != null && !DateUtils.handleIfModifiedSince(since, lastModified);
  }

  /**
   * Narrows the answer to one byte range (RFC 9110 §14): sets 206 and Content-Range and moves
   * {@code body}'s window, or answers 416 itself; several or malformed ranges leave the full 200.
   */
  private static int applyRange(HttpServerExchange exchange, CachedResponse response, String range, ByteBuffer body) {
    ByteRange ranges = ByteRange.parse(range);
    if (ranges == null || ranges.getRanges() != 1) {
      return 200;
    }
    String lastModified = response.lastModified();
    ByteRange.RangeResponseResult r = ranges.getResponseResult(response.bodyLength(),
        exchange.getRequestHeaders().getFirst(Headers.IF_RANGE),
        lastModified == null ? null : DateUtils.parseDate(lastModified), response.etag());
    if (r == null) {
      return 200; // If-Range did not match: the whole representation
    }
    if (r.getStatusCode() == StatusCodes.REQUEST_RANGE_NOT_SATISFIABLE) {
      exchange.getResponseHeaders().remove(Headers.CONTENT_LENGTH);
      exchange.getResponseHeaders().put(Headers.CONTENT_RANGE, r.getContentRange());
      exchange.getResponseHeaders().put(Headers.CONTENT_LENGTH, "0");
      exchange.setStatusCode(StatusCodes.REQUEST_RANGE_NOT_SATISFIABLE);
      exchange.endExchange();
      return StatusCodes.REQUEST_RANGE_NOT_SATISFIABLE;
    }
    exchange.getResponseHeaders().put(Headers.CONTENT_RANGE, r.getContentRange());
    body.position((int) r.getStart()).limit((int) r.getEnd() + 1);
    return StatusCodes.PARTIAL_CONTENT;
  }
}
