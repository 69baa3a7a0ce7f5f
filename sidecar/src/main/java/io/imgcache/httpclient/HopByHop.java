package io.imgcache.httpclient;

import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/** The header fields that describe one hop (RFC 9110 §7.6.1), never passed on by a proxy. */
public final class HopByHop {
  /** The fields hop-by-hop by definition, lower case. */
  public static final Set<String> FIELDS = Set.of("connection", "keep-alive", "transfer-encoding", "te", "upgrade",
      "trailer", "proxy-connection", "proxy-authenticate", "proxy-authorization");

  private HopByHop() {}

  /** The fields {@code headers}' Connection names, lower case: hop-by-hop for this message too. */
  public static Set<String> namedIn(HeaderMap headers) {
    HeaderValues connection = headers.get(Headers.CONNECTION);
    if (connection == null) {
      return Set.of();
    }
    Set<String> named = new HashSet<>();
    for (String value : connection) {
      for (String token : value.split(",")) {
        named.add(token.trim().toLowerCase(Locale.ROOT));
      }
    }
    return named;
  }
}
