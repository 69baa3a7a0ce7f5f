package io.imgcache.key;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * Turns an origin-form request target ({@code /path?query}, as received, still percent-encoded)
 * into the cache key (DESIGN §3): query parameters sorted when configured, ignored parameters
 * dropped, nothing else changed. Immutable and thread-safe.
 */
public final class KeyPolicy {
  /** By name only: List.sort is stable, so same-name parameters keep their order (a=1&a=2 ≠ a=2&a=1). */
  private static final Comparator<String> BY_NAME = Comparator.comparing(KeyPolicy::paramName);

  private final boolean sortQuery;
  private final Set<String> ignoredParams;
  private final int maxLength;

  public KeyPolicy(boolean sortQuery, List<String> ignoredParams, int maxLength) {
    checkArgument(maxLength > 0, "maxLength must be positive, was %s", maxLength);
    this.sortQuery = sortQuery;
    this.ignoredParams = Set.copyOf(ignoredParams);
    this.maxLength = maxLength;
  }

  /** The longest key, in UTF-8 bytes, that is accepted. */
  public int maxLength() {
    return maxLength;
  }

  /**
   * The key for {@code path} and {@code query} (raw, without the '?'; null or empty for none).
   *
   * @throws InvalidKeyException with status 400 for a target that is not origin-form or has
   *     broken percent-encoding or control characters, 414 for a key over {@link #maxLength()}
   */
  public String keyFor(String path, String query) {
    if (path.isEmpty() || path.charAt(0) != '/') {
      throw new InvalidKeyException(400, "request target must be a path starting with '/'");
    }
    checkCharacters(path);
    if (path.length() + (query == null ? 0 : query.length() + 1) > maxLength) {
      throw new InvalidKeyException(414, "request target longer than " + maxLength + " bytes");
    }
    String key;
    if (query == null || query.isEmpty()) {
      key = path;
    } else {
      checkCharacters(query);
      String kept = normaliseQuery(query);
      key = kept.isEmpty() ? path : path + '?' + kept;
    }
    // Characters are ASCII here (checked above), so length is the byte count.
    if (key.length() > maxLength) {
      throw new InvalidKeyException(414, "request target longer than " + maxLength + " bytes");
    }
    return key;
  }

  private String normaliseQuery(String query) {
    List<String> params = new ArrayList<>();
    for (String param : query.split("&")) {
      if (!param.isEmpty() && !ignoredParams.contains(decode(paramName(param)))) {
        params.add(param);
      }
    }
    if (sortQuery) {
      params.sort(BY_NAME);
    }
    return String.join("&", params);
  }

  private static String paramName(String param) {
    int eq = param.indexOf('=');
    return eq < 0 ? param : param.substring(0, eq);
  }

  /** A target must be printable ASCII with well-formed %XX escapes that decode to no control byte. */
  private static void checkCharacters(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c <= 0x20 || c >= 0x7f) {
        throw new InvalidKeyException(400, "request target contains a control, space or non-ASCII character");
      }
      if (c == '%') {
        int hi = i + 2 < s.length() ? hexDigit(s.charAt(i + 1)) : -1;
        int lo = hi >= 0 ? hexDigit(s.charAt(i + 2)) : -1;
        if (hi < 0 || lo < 0) {
          throw new InvalidKeyException(400, "invalid percent-encoding in request target");
        }
        int b = hi * 16 + lo;
        if (b < 0x20 || b == 0x7f) {
          throw new InvalidKeyException(400, "request target encodes a control character");
        }
        i += 2;
      }
    }
  }

  /** An ASCII hex digit's value, or -1 (Character.digit would also take other scripts' digits). */
  private static int hexDigit(char c) {
    return c < 0x80 ? Character.digit(c, 16) : -1;
  }

  /** Percent-decodes a parameter name (already validated) for comparison with ignore-params. */
  private static String decode(String s) {
    if (s.indexOf('%') < 0 && s.indexOf('+') < 0) {
      return s;
    }
    byte[] out = new byte[s.length()];
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%') {
        out[n++] = (byte) Integer.parseInt(s, i + 1, i + 3, 16);
        i += 2;
      } else {
        out[n++] = (byte) (c == '+' ? ' ' : c);
      }
    }
    return new String(out, 0, n, StandardCharsets.UTF_8);
  }
}
