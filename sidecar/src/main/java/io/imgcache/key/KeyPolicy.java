package io.imgcache.key;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

/**
 * Turns an origin-form request target ({@code /path?query}, as received, still percent-encoded)
 * into the cache key (DESIGN §3): query parameters sorted when configured, ignored parameters
 * dropped, nothing else changed. Immutable and thread-safe.
 */
public final class KeyPolicy {
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

  /**
   * The query with empty and ignored parameters dropped and, when configured, sorted by name
   * (stable: same-name parameters keep their order). Works on the parameters' bounds in the query:
   * a query that is already canonical, as a well-behaved client sends it every time, comes back
   * as it is, and one that is not is built once (this runs on every request).
   */
  private String normaliseQuery(String query) {
    int[] bounds = new int[3 * (count(query, '&') + 1)]; // per parameter: start, end of name, end
    int params = 0;
    boolean dropped = false;
    for (int start = 0; start <= query.length(); ) {
      int end = query.indexOf('&', start);
      end = end < 0 ? query.length() : end;
      int nameEnd = start;
      while (nameEnd < end && query.charAt(nameEnd) != '=') { // within this parameter only
        nameEnd++;
      }
      if (end == start || ignored(query, start, nameEnd)) {
        dropped = true;
      } else {
        bounds[3 * params] = start;
        bounds[3 * params + 1] = nameEnd;
        bounds[3 * params + 2] = end;
        params++;
      }
      start = end + 1;
    }
    boolean sorted = true;
    for (int i = 1; sortQuery && i < params; i++) {
      if (compareNames(query, bounds, i - 1, i) > 0) {
        sorted = false;
        break;
      }
    }
    if (sorted && !dropped) {
      return query;
    }
    if (!sorted && params > 16) { // many (a hostile query): a stable O(n log n) sort of the bounds
      Integer[] order = new Integer[params];
      for (int i = 0; i < params; i++) {
        order[i] = i;
      }
      int[] by = bounds.clone();
      java.util.Arrays.sort(order, (a, b) -> compareNames(query, by, a, b));
      for (int i = 0; i < params; i++) {
        System.arraycopy(by, 3 * order[i], bounds, 3 * i, 3);
      }
    } else if (!sorted) { // insertion sort: the usual handful of parameters, and stable
      for (int i = 1; i < params; i++) {
        for (int j = i; j > 0 && compareNames(query, bounds, j - 1, j) > 0; j--) {
          for (int k = 0; k < 3; k++) {
            int t = bounds[3 * j + k];
            bounds[3 * j + k] = bounds[3 * (j - 1) + k];
            bounds[3 * (j - 1) + k] = t;
          }
        }
      }
    }
    StringBuilder out = new StringBuilder(query.length());
    for (int i = 0; i < params; i++) {
      if (i > 0) {
        out.append('&');
      }
      out.append(query, bounds[3 * i], bounds[3 * i + 2]);
    }
    return out.toString();
  }

  private static int count(String s, char c) {
    int n = 0;
    for (int i = s.indexOf(c); i >= 0; i = s.indexOf(c, i + 1)) {
      n++;
    }
    return n;
  }

  /** Whether the parameter named by {@code query[from, to)} is one of ignore-params (compared decoded). */
  private boolean ignored(String query, int from, int to) {
    return !ignoredParams.isEmpty() && ignoredParams.contains(decode(query.substring(from, to)));
  }

  /** The names of parameters {@code a} and {@code b} compared as {@link String#compareTo} would compare them. */
  private static int compareNames(String query, int[] bounds, int a, int b) {
    int i = bounds[3 * a];
    int iEnd = bounds[3 * a + 1];
    int j = bounds[3 * b];
    int jEnd = bounds[3 * b + 1];
    for (; i < iEnd && j < jEnd; i++, j++) {
      int d = query.charAt(i) - query.charAt(j);
      if (d != 0) {
        return d;
      }
    }
    return (iEnd - i) - (jEnd - j);
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
