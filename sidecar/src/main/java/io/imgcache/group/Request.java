package io.imgcache.group;

import static com.google.common.base.Preconditions.checkArgument;

import io.imgcache.cache.CacheControl;
import io.imgcache.cache.Variants;
import java.util.List;
import java.util.Objects;

/**
 * A request for one key, as the group needs it: the canonical target (the key, DESIGN §3), the
 * request headers a load sends on (end-to-end ones, already stripped of hop-by-hop fields,
 * conditionals, Range, Authorization and, by default, Cookie; X-Forwarded-* included), its
 * Cache-Control directives and whether it carried Authorization. Immutable and thread-safe.
 */
public final class Request implements Variants.Headers {
  private final String key;
  private final List<String> headers;
  private final CacheControl cacheControl;
  private final boolean authorization;

  /**
   * @param headers alternating name, value; what the origin gets besides Host and Via
   * @param cacheControl the request's directives (with {@code Pragma: no-cache} read as no-cache)
   */
  public Request(String key, List<String> headers, CacheControl cacheControl, boolean authorization) {
    checkArgument(headers.size() % 2 == 0, "headers must alternate name and value, got %s items", headers.size());
    this.key = Objects.requireNonNull(key, "key");
    this.headers = List.copyOf(headers);
    this.cacheControl = Objects.requireNonNull(cacheControl, "cacheControl");
    this.authorization = authorization;
  }

  /** A request with no headers and no directives (a peer's warm-up, tests). */
  public static Request of(String key) {
    return new Request(key, List.of(), CacheControl.NONE, false);
  }

  /** The base cache key, which is also the canonical target every loader sends the origin. */
  public String key() {
    return key;
  }

  /** The canonical request target sent to the origin: the key. */
  public String target() {
    return key;
  }

  /** Alternating name, value: the headers a load forwards. */
  public List<String> headers() {
    return headers;
  }

  public CacheControl cacheControl() {
    return cacheControl;
  }

  /** Whether the client sent Authorization (RFC 9111 §3.5: not shared unless the response allows). */
  public boolean authorization() {
    return authorization;
  }

  /** The combined value of the forwarded header {@code lowerName}, or null: what Vary selects on. */
  @Override
  public String get(String lowerName) {
    String combined = null;
    for (int i = 0; i < headers.size(); i += 2) {
      if (headers.get(i).equalsIgnoreCase(lowerName)) {
        combined = combined == null ? headers.get(i + 1) : combined + ", " + headers.get(i + 1);
      }
    }
    return combined;
  }

  @Override
  public String toString() {
    return "Request{" + key + "}";
  }
}
