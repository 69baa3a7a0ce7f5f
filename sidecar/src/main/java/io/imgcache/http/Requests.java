package io.imgcache.http;

import io.imgcache.httpclient.HopByHop;
import io.imgcache.cache.CacheControl;
import io.imgcache.cache.Variants;
import io.imgcache.group.Request;
import io.imgcache.peer.PeerProtocol;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Turns a server exchange into the group's {@link Request} (DESIGN §4, "Request headers on a
 * load"): the client's end-to-end headers minus hop-by-hop ones, conditionals, Range,
 * Authorization and (when stripped) Cookie, plus X-Forwarded-For/-Proto/-Host. For a peer's
 * request the headers arrive already so prepared; only the protocol's own are removed.
 * Call on the exchange's IO thread.
 */
final class Requests {
  /** Never sent on by a load, lower case: hop-by-hop (RFC 9110 §7.6.1), framing, conditionals, Range. */
  private static final Set<String> NOT_FORWARDED = Set.of("connection", "keep-alive", "te", "trailer",
      "transfer-encoding", "upgrade", "proxy-connection", "proxy-authorization", "proxy-authenticate", "host",
      "content-length", "expect", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range",
      "range", "authorization", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-cache");

  private final boolean stripCookies;

  /** @param stripCookies {@code cache.request-cookies = strip}: Cookie is not sent on shared loads */
  Requests(boolean stripCookies) {
    this.stripCookies = stripCookies;
  }

  /** The request's Cache-Control directives; {@code Pragma: no-cache} counts without Cache-Control (RFC 9111 §5.4). */
  static CacheControl cacheControl(HeaderMap headers) {
    HeaderValues values = headers.get(Headers.CACHE_CONTROL);
    if (values != null) {
      return CacheControl.parse(values);
    }
    String pragma = headers.getFirst(Headers.PRAGMA);
    return pragma != null && pragma.toLowerCase(Locale.ROOT).contains("no-cache") ? CacheControl.parse("no-cache")
        : CacheControl.NONE;
  }

  /** What Vary selects on for a client's request: its headers as a load would forward them. */
  Variants.Headers varyHeaders(HeaderMap headers) {
    return name -> forwarded(name) ? combined(headers, name) : null;
  }

  /** A client's request for {@code key}. */
  Request client(HttpServerExchange exchange, String key) {
    HeaderMap in = exchange.getRequestHeaders();
    Set<String> named = HopByHop.namedIn(in);
    List<String> out = new ArrayList<>(in.size() * 2 + 6);
    for (HeaderValues values : in) {
      String name = values.getHeaderName().toString();
      String lower = name.toLowerCase(Locale.ROOT);
      if (forwarded(lower) && !named.contains(lower)) {
        for (String value : values) {
          out.add(name);
          out.add(value);
        }
      }
    }
    String client = exchange.getSourceAddress().getAddress().getHostAddress();
    String forwardedFor = in.getFirst(Headers.X_FORWARDED_FOR);
    add(out, "X-Forwarded-For", forwardedFor == null ? client : forwardedFor + ", " + client);
    String proto = in.getFirst(Headers.X_FORWARDED_PROTO);
    add(out, "X-Forwarded-Proto", proto != null ? proto : exchange.getRequestScheme());
    String host = in.getFirst(Headers.X_FORWARDED_HOST);
    host = host != null ? host : in.getFirst(Headers.HOST);
    if (host != null) {
      add(out, "X-Forwarded-Host", host);
    }
    HeaderValues authorization = in.get(Headers.AUTHORIZATION);
    if (authorization != null) {
      // Such a request is loaded for its client alone (RFC 9111 §3.5), never coalesced or shared:
      // its origin request carries the credentials.
      for (String value : authorization) {
        add(out, "Authorization", value);
      }
    }
    return new Request(key, out, cacheControl(in), authorization != null);
  }

  /** A peer's request for {@code key}: the asking node's forwarded headers, minus the protocol's own. */
  static Request peer(HttpServerExchange exchange, String key) {
    HeaderMap in = exchange.getRequestHeaders();
    List<String> out = new ArrayList<>(in.size() * 2);
    for (HeaderValues values : in) {
      String name = values.getHeaderName().toString();
      String lower = name.toLowerCase(Locale.ROOT);
      boolean ours = PeerProtocol.isProtocolHeader(name) || lower.equals("authorization") || lower.equals("host")
          || lower.equals("connection") || lower.equals("keep-alive") || lower.equals("content-length");
      if (!ours) {
        for (String value : values) {
          out.add(name);
          out.add(value);
        }
      }
    }
    return new Request(key, out, cacheControl(in), false);
  }

  private boolean forwarded(String lower) {
    return !NOT_FORWARDED.contains(lower) && !lower.startsWith("proxy-") && !PeerProtocol.isProtocolHeader(lower)
        && !(stripCookies && lower.equals("cookie"));
  }

  private static String combined(HeaderMap headers, String name) {
    HeaderValues values = headers.get(name);
    if (values == null || values.isEmpty()) {
      return null;
    }
    return values.size() == 1 ? values.getFirst() : String.join(", ", values);
  }

  private static void add(List<String> out, String name, String value) {
    out.add(name);
    out.add(value);
  }
}
