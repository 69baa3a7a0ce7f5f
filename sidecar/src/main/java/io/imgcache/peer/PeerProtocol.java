package io.imgcache.peer;

import com.google.common.io.BaseEncoding;
import io.undertow.util.HttpString;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The wire format between nodes (DESIGN §7). A key travels as one opaque path segment, base64url
 * without padding: no escaping, no {@code //}, nothing a server could redirect.
 */
public final class PeerProtocol {
  /** Every peer path starts with this. */
  public static final String PREFIX = "/_groupcache/";
  /** Liveness probe path; touches no cache and no origin. */
  public static final String HEALTH_PATH = PREFIX + "_health";
  /**
   * The answering node's own figures ({@code NodeReport} JSON), for {@code imgcache status}; takes
   * the peer or the admin token, like a purge.
   */
  public static final String STATUS_PATH = PREFIX + "_status";
  /**
   * Set on answers that are about the protocol, not the key (bad key, token, unknown group, the
   * owner's origin failed, too large), so a client can tell them from an origin's own 400 or 404.
   */
  public static final HttpString ERROR_HEADER = HttpString.tryFromString("X-Groupcache-Error");

  /**
   * A request with this header set to {@code 1} is answered only from memory (main or hot cache):
   * {@code 404} with error {@code not-cached} otherwise, and nothing is loaded. Used for warm-up.
   */
  public static final HttpString CACHED_ONLY_HEADER = HttpString.tryFromString("X-Groupcache-Cached-Only");

  /**
   * {@code X-Groupcache-Load-For: <asking node's URL>}: the asking node owns the key but its origin
   * failed; load it from this node's origin for it, store nothing here, ask nobody else.
   */
  public static final HttpString LOAD_FOR_HEADER = HttpString.tryFromString("X-Groupcache-Load-For");

  /**
   * On every authoritative answer (the origin's response, any status): the response's current age
   * at the owner, in milliseconds. An answer without it — an error, or a draining server's bare
   * 503 — is not the origin's, and the asking node falls back.
   */
  public static final HttpString AGE_HEADER = HttpString.tryFromString("X-Groupcache-Age");
  /**
   * With {@link #AGE_HEADER}: the freshness lifetime the owner gave the response, in milliseconds,
   * or {@code forever}; a hot copy is fresh exactly as long as the owner's.
   */
  public static final HttpString LIFETIME_HEADER = HttpString.tryFromString("X-Groupcache-Lifetime");
  static final String FOREVER = "forever";

  /**
   * {@code DELETE /_groupcache/_ban/<group>/<base64url prefix>}: ban every key starting with the
   * prefix on the receiving node (answered like a purge: {@code {"removed": n}}). Carries {@link
   * #BAN_ID_HEADER}, so that a ban delivered twice (a retry whose answer was lost) applies once.
   */
  public static final String BAN_PREFIX = PREFIX + "_ban/";
  public static final HttpString BAN_ID_HEADER = HttpString.tryFromString("X-Groupcache-Ban-Id");

  /** Error kinds (values of {@link #ERROR_HEADER}). */
  public static final String ERROR_ORIGIN = "origin";
  public static final String ERROR_NOT_CACHED = "not-cached";
  public static final String ERROR_BUSY = "busy";
  public static final String ERROR_TOO_LARGE = "too-large";
  public static final String ERROR_BAD_REQUEST = "bad-request";
  public static final String ERROR_UNAUTHORIZED = "unauthorized";
  public static final String ERROR_UNKNOWN_GROUP = "unknown-group";

  private static final BaseEncoding BASE64URL = BaseEncoding.base64Url().omitPadding();

  private PeerProtocol() {}

  /** The path asking {@code group} for {@code key}. */
  public static String path(String group, String key) {
    return PREFIX + group + '/' + BASE64URL.encode(key.getBytes(StandardCharsets.UTF_8));
  }

  /** The path banning {@code prefix} in {@code group}. */
  public static String banPath(String group, String prefix) {
    return BAN_PREFIX + group + '/' + BASE64URL.encode(prefix.getBytes(StandardCharsets.UTF_8));
  }

  /** Whether {@code name} is one of the protocol's own headers, never a client's (lower or any case). */
  public static boolean isProtocolHeader(String name) {
    return name.regionMatches(true, 0, "X-Groupcache-", 0, "X-Groupcache-".length());
  }

  /** The lifetime header's value for {@code lifetimeMillis}. */
  public static String lifetime(long lifetimeMillis) {
    return lifetimeMillis == Long.MAX_VALUE ? FOREVER : Long.toString(lifetimeMillis);
  }

  /** Reads a lifetime header value; -1 when it is not one. */
  static long parseLifetime(String value) {
    if (FOREVER.equals(value)) {
      return Long.MAX_VALUE;
    }
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Decodes a key segment.
   *
   * @throws IllegalArgumentException if it is not unpadded base64url of UTF-8 text
   */
  public static String decodeKey(String segment) {
    byte[] bytes = BASE64URL.decode(segment);
    String key = new String(bytes, StandardCharsets.UTF_8);
    if (!Arrays.equals(key.getBytes(StandardCharsets.UTF_8), bytes)) {
      throw new IllegalArgumentException("key is not valid UTF-8");
    }
    return key;
  }
}
