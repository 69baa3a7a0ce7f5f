package io.imgcache.cache;

import java.util.List;
import java.util.Locale;

/**
 * The directives of one message's {@code Cache-Control} header fields (RFC 9111 §5.2), request or
 * response. Immutable. Unknown directives are ignored (§5.2.3); a directive whose argument is not
 * a valid delta-seconds counts as absent, except {@code max-age}, which then counts as 0 — the
 * conservative reading (§4.2.1: a cache treats an invalid freshness lifetime as stale).
 *
 * <p>Qualified {@code no-cache="field"} and {@code private="field"} are read as their
 * unqualified forms: allowed (§5.2.2.4, §5.2.2.7) and the safe choice for a shared cache.
 */
public record CacheControl(
    boolean noStore,
    boolean noCache,
    boolean isPrivate,
    boolean isPublic,
    boolean mustRevalidate,
    boolean proxyRevalidate,
    boolean onlyIfCached,
    long maxAge,
    long sMaxAge,
    long maxStale,
    long minFresh,
    long staleWhileRevalidate,
    long staleIfError) {

  /** An argument that is absent; {@code max-stale} without a value is {@link #ANY}. */
  public static final long ABSENT = -1;
  /** {@code max-stale} with no argument: any staleness is acceptable. */
  public static final long ANY = Long.MAX_VALUE;

  /** No directives at all. */
  public static final CacheControl NONE =
      new CacheControl(false, false, false, false, false, false, false, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);

  /** Parses every value of the header (they form one comma-separated list); null or empty = {@link #NONE}. */
  public static CacheControl parse(List<String> values) {
    if (values == null || values.isEmpty()) {
      return NONE;
    }
    Builder b = new Builder();
    for (String value : values) {
      parseInto(value, b);
    }
    return b.build();
  }

  /** Parses one header value. */
  public static CacheControl parse(String value) {
    if (value == null || value.isEmpty()) {
      return NONE;
    }
    Builder b = new Builder();
    parseInto(value, b);
    return b.build();
  }

  /**
   * A targeted field ({@code CDN-Cache-Control}, RFC 9213): a Structured Fields dictionary with
   * the directives of Cache-Control. Null when any value is not a valid member — then the field is
   * ignored as a whole (RFC 9213 §2.1) and Cache-Control applies.
   */
  public static CacheControl parseTargeted(List<String> values) {
    if (values == null || values.isEmpty()) {
      return null;
    }
    for (String value : values) {
      for (String member : value.split(",", -1)) {
        if (!TARGETED_MEMBER.matcher(member.strip()).matches()) {
          return null;
        }
        String m = member.strip();
        int eq = m.indexOf('=');
        String name = eq < 0 ? m : m.substring(0, eq);
        boolean numeric = name.equals("max-age") || name.equals("s-maxage") || name.startsWith("stale-");
        if (numeric && (eq < 0 || !m.substring(eq + 1).matches("\\d{1,15}"))) {
          return null; // an integer directive of another type: not a valid field
        }
      }
    }
    return parse(values);
  }

  /** sf-dictionary member: key [ "=" ( sf-integer / sf-token / sf-string ) ], parameters not used. */
  private static final java.util.regex.Pattern TARGETED_MEMBER = java.util.regex.Pattern.compile(
      "[a-z*][a-z0-9_.*-]*(=(-?\\d{1,15}|[A-Za-z*][A-Za-z0-9!#$%&'*+.^_`|~:/-]*|\"([^\"\\\\]|\\\\.)*\"))?");

  private static void parseInto(String value, Builder b) {
    int i = 0;
    int n = value.length();
    while (i < n) {
      // directive = token [ "=" ( token / quoted-string ) ]
      while (i < n && (value.charAt(i) == ',' || value.charAt(i) == ' ' || value.charAt(i) == '\t')) {
        i++;
      }
      int nameStart = i;
      while (i < n && value.charAt(i) != '=' && value.charAt(i) != ',') {
        i++;
      }
      String name = value.substring(nameStart, i).trim().toLowerCase(Locale.ROOT);
      String argument = null;
      if (i < n && value.charAt(i) == '=') {
        i++;
        if (i < n && value.charAt(i) == '"') {
          int close = value.indexOf('"', i + 1);
          close = close < 0 ? n : close;
          argument = value.substring(i + 1, close);
          i = close + 1;
          while (i < n && value.charAt(i) != ',') {
            i++;
          }
        } else {
          int argStart = i;
          while (i < n && value.charAt(i) != ',') {
            i++;
          }
          argument = value.substring(argStart, i).trim();
        }
      }
      if (!name.isEmpty()) {
        b.directive(name, argument);
      }
    }
  }

  /** delta-seconds (RFC 9111 §1.2.2): digits only; overflowing values saturate; otherwise -1. */
  static long deltaSeconds(String argument) {
    if (argument == null || argument.isEmpty()) {
      return ABSENT;
    }
    long v = 0;
    for (int i = 0; i < argument.length(); i++) {
      char c = argument.charAt(i);
      if (c < '0' || c > '9') {
        return ABSENT;
      }
      v = v > (Integer.MAX_VALUE - 9) / 10 ? Integer.MAX_VALUE : v * 10 + (c - '0');
    }
    return v;
  }

  private static final class Builder {
    boolean noStore, noCache, isPrivate, isPublic, mustRevalidate, proxyRevalidate, onlyIfCached;
    long maxAge = ABSENT, sMaxAge = ABSENT, maxStale = ABSENT, minFresh = ABSENT, swr = ABSENT, sie = ABSENT;

    void directive(String name, String argument) {
      switch (name) {
        case "no-store" -> noStore = true;
        case "no-cache" -> noCache = true;
        case "private" -> isPrivate = true;
        case "public" -> isPublic = true;
        case "must-revalidate" -> mustRevalidate = true;
        case "proxy-revalidate" -> proxyRevalidate = true;
        case "only-if-cached" -> onlyIfCached = true;
        // A repeated directive: the first one counts (RFC 9111 §4.2.1 lets a cache pick; the first
        // is what most caches use). An invalid max-age means stale.
        case "max-age" -> maxAge = maxAge != ABSENT ? maxAge : Math.max(0, deltaSeconds(argument));
        case "s-maxage" -> sMaxAge = sMaxAge != ABSENT ? sMaxAge : Math.max(0, deltaSeconds(argument));
        case "max-stale" -> maxStale = argument == null ? ANY : deltaSeconds(argument);
        case "min-fresh" -> minFresh = deltaSeconds(argument);
        case "stale-while-revalidate" -> swr = deltaSeconds(argument);
        case "stale-if-error" -> sie = deltaSeconds(argument);
        default -> { } // unknown directives are ignored (RFC 9111 §5.2.3)
      }
    }

    CacheControl build() {
      return new CacheControl(noStore, noCache, isPrivate, isPublic, mustRevalidate, proxyRevalidate, onlyIfCached,
          maxAge, sMaxAge, maxStale, minFresh, swr, sie);
    }
  }
}
