package io.imgcache.httpclient;

import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import io.undertow.util.StatusCodes;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/** The header fields that describe one hop (RFC 9110 §7.6.1), never passed on by a proxy. */
public final class HopByHop {
  /** The fields hop-by-hop by definition, lower case. */
  public static final Set<String> FIELDS = Set.of("connection", "keep-alive", "transfer-encoding", "te", "upgrade",
      "trailer", "proxy-connection", "proxy-authenticate", "proxy-authorization");

  private HopByHop() {}

  /**
   * True for a 204 or 304 (to anything but a HEAD) whose head frames a body all the same: a
   * Content-Length other than 0 (a 304 may carry the representation's, RFC 9110 §8.6) or a
   * Transfer-Encoding. It has none (RFC 9112 §6.3), but Undertow's client waits for one that never
   * comes: the reader must end the response at its head and not reuse the connection.
   */
  public static boolean bodilessButFramed(int status, HttpString method, HeaderMap headers) {
    if (status != StatusCodes.NO_CONTENT && status != StatusCodes.NOT_MODIFIED || method.equals(Methods.HEAD)) {
      return false;
    }
    String length = headers.getFirst(Headers.CONTENT_LENGTH);
    return headers.contains(Headers.TRANSFER_ENCODING) || length != null && !length.trim().equals("0");
  }

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
