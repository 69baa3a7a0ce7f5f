package io.imgcache.cache;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.ByteBuffer;
import java.time.Duration;
import io.undertow.util.DateUtils;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Decides, for each origin response, what a shared cache may do with it (RFC 9111 §3, §4.2,
 * RFC 5861) under the operator's settings, and makes the {@link CachedResponse}. Immutable and
 * thread-safe; build it with {@link #builder()}.
 *
 * <ul>
 *   <li>Storable: status final and not 206/304, not a 5xx failure (501 excepted), no
 *       {@code no-store}, {@code private}, Set-Cookie or {@code Vary: *}; and explicit freshness,
 *       or a status cacheable by default (§3 / RFC 9110 §15.1) or {@code public}.
 *   <li>Lifetime: {@code s-maxage} &gt; {@code max-age} &gt; {@code Expires − Date}; none: {@code
 *       default-ttl} (0 = for ever) for 200-like statuses, {@code negative-ttl} (0 = not stored)
 *       for 404, 405, 410, 414, 501 — or, with {@code implicit-freshness} off, 0: stored only with a
 *       validator and revalidated before each reuse. {@code no-cache}: 0. Clamped to {@code
 *       [min-ttl, max-ttl]} (max 0 = no bound) unless the origin said {@code no-cache}.
 *   <li>Stale windows: the response's {@code stale-while-revalidate} / {@code stale-if-error}, else
 *       the operator's defaults; none when it says must-revalidate, proxy-revalidate or no-cache;
 *       with s-maxage only the response's own windows.
 * </ul>
 */
public final class CachePolicy {
  private static final Set<Integer> HEURISTIC_STATUSES = Set.of(200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501);
  private static final Set<Integer> NEGATIVE_STATUSES = Set.of(404, 405, 410, 414, 501);

  private final boolean implicitFreshness;
  private final long defaultTtl;
  private final long negativeTtl;
  private final long minTtl;
  private final long maxTtl;
  private final long staleWhileRevalidate;
  private final long staleIfError;
  private final LongSupplier clock;

  private CachePolicy(Builder b) {
    this.implicitFreshness = b.implicitFreshness;
    this.defaultTtl = b.defaultTtl.toMillis();
    this.negativeTtl = b.negativeTtl.toMillis();
    this.minTtl = b.minTtl.toMillis();
    this.maxTtl = b.maxTtl.toMillis();
    this.staleWhileRevalidate = b.staleWhileRevalidate.toMillis();
    this.staleIfError = b.staleIfError.toMillis();
    this.clock = b.clock;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The policy's wall clock, in milliseconds since the epoch. */
  public long now() {
    return clock.getAsLong();
  }

  /**
   * The response the origin (or an upstream cache) sent, as received at {@code responseTime} for
   * a request sent at {@code requestTime}. {@code headers} alternate name, value and hold
   * end-to-end headers only; an {@code Age} among them is taken as the upstream's age and not kept.
   * The caller must not modify {@code body} afterwards.
   *
   * @param upstream what the owner that answered it decided (a peer's answer), or null for an
   *     origin's answer
   */
  public CachedResponse response(int status, List<String> headers, byte[] body, long requestTime, long responseTime,
      Upstream upstream) {
    return build(status, headers, ByteBuffer.wrap(Objects.requireNonNull(body, "body")), requestTime, responseTime,
        upstream);
  }

  /**
   * An owner's view of a response it answered a peer with: its age then and its lifetime, in
   * milliseconds ({@link CachedResponse#FOREVER}), so a hot copy never outlives the owner's.
   */
  public record Upstream(long ageMillis, long lifetimeMillis) {}

  /** {@link #response(int, List, byte[], long, long, long)} received now, lifetime computed here. */
  public CachedResponse response(int status, List<String> headers, byte[] body) {
    long now = now();
    return response(status, headers, body, now, now, null);
  }

  /**
   * The stored response refreshed by a {@code 304 Not Modified} received at {@code responseTime}
   * (RFC 9111 §4.3.4, §3.2): the 304's headers replace stored ones of the same name
   * (Content-Length excepted), freshness is computed anew, the body is kept.
   */
  public CachedResponse refreshed(CachedResponse stored, List<String> notModifiedHeaders, long requestTime,
      long responseTime) {
    Set<String> replaced = new LinkedHashSet<>();
    for (int i = 0; i < notModifiedHeaders.size(); i += 2) {
      String name = CachedResponse.lower(notModifiedHeaders.get(i));
      if (!name.equals("content-length")) {
        replaced.add(name);
      }
    }
    if (!replaced.contains("date")) {
      // A 304 without Date is dated when received (RFC 9110 §6.6.1). Keeping the stored Date
      // would make the apparent age the time since the first load: stale again at once.
      List<String> dated = new ArrayList<>(notModifiedHeaders);
      dated.add("Date");
      dated.add(DateUtils.toDateString(new Date(responseTime)));
      notModifiedHeaders = dated;
      replaced.add("date");
    }
    List<String> merged = new ArrayList<>();
    for (int i = 0; i < stored.headerCount(); i++) {
      if (!replaced.contains(CachedResponse.lower(stored.headerName(i)))) {
        merged.add(stored.headerName(i));
        merged.add(stored.headerValue(i));
      }
    }
    for (int i = 0; i < notModifiedHeaders.size(); i += 2) {
      if (replaced.contains(CachedResponse.lower(notModifiedHeaders.get(i)))) {
        merged.add(notModifiedHeaders.get(i));
        merged.add(notModifiedHeaders.get(i + 1));
      }
    }
    return build(stored.status(), merged, stored.body(), requestTime, responseTime, null);
  }

  private CachedResponse build(int status, List<String> headers, ByteBuffer body, long requestTime,
      long responseTime, Upstream upstream) {
    checkArgument(status >= 100 && status <= 599, "status %s out of range", status);
    checkArgument(headers.size() % 2 == 0, "headers must alternate name and value, got %s items", headers.size());
    List<String> cacheControl = new ArrayList<>(2);
    List<String> cdnCacheControl = null;
    String date = null;
    String expires = null;
    String age = null;
    int expiresLines = 0;
    boolean setCookie = false;
    boolean varyStar = false;
    Set<String> vary = new LinkedHashSet<>();
    int kept = 0;
    String[] names = new String[headers.size() / 2];
    String[] values = new String[names.length];
    for (int i = 0; i < headers.size(); i += 2) {
      String name = headers.get(i);
      String value = headers.get(i + 1);
      switch (CachedResponse.lower(name)) {
        case "age" -> {
          age = age == null ? value : age;
          continue; // every answer from storage carries its own Age
        }
        case "cache-control" -> cacheControl.add(value);
        case "cdn-cache-control" -> {
          cdnCacheControl = cdnCacheControl == null ? new ArrayList<>(1) : cdnCacheControl;
          cdnCacheControl.add(value);
        }
        case "date" -> date = date == null ? value : date;
        case "expires" -> {
          // Several Expires lines cannot all be right: read as invalid, i.e. stale (RFC 9111 §5.3).
          expiresLines++;
          expires = expires == null ? value : expires;
        }
        case "set-cookie", "set-cookie2" -> setCookie = true;
        case "vary" -> {
          for (String field : value.split(",")) {
            String f = CachedResponse.lower(field.trim());
            if (f.equals("*")) {
              varyStar = true;
            } else if (!f.isEmpty()) {
              vary.add(f);
            }
          }
        }
        default -> { }
      }
      names[kept] = name;
      values[kept] = value;
      kept++;
    }
    if (kept < names.length) {
      names = java.util.Arrays.copyOf(names, kept);
      values = java.util.Arrays.copyOf(values, kept);
    }
    // RFC 9213: a valid CDN-Cache-Control is this cache's Cache-Control, and Expires does not apply.
    CacheControl targeted = CacheControl.parseTargeted(cdnCacheControl);
    CacheControl cc = targeted != null ? targeted : CacheControl.parse(cacheControl);
    if (targeted != null) {
      expires = null;
    }

    // RFC 9111 §4.2.3
    long dateValue = httpDate(date, responseTime);
    long apparentAge = Math.max(0, responseTime - dateValue);
    long ageValue = upstream != null ? upstream.ageMillis()
        : Math.max(0, CacheControl.deltaSeconds(age == null ? null : firstMember(age))) * 1000;
    long correctedAge = ageValue + Math.max(0, responseTime - requestTime);
    long initialAge = Math.max(apparentAge, correctedAge);

    boolean explicit = cc.sMaxAge() >= 0 || cc.maxAge() >= 0 || expires != null;
    long lifetime;
    boolean heuristic = false;
    if (cc.noCache()) {
      lifetime = 0;
    } else {
      if (cc.sMaxAge() >= 0) {
        lifetime = cc.sMaxAge() * 1000;
      } else if (cc.maxAge() >= 0) {
        lifetime = cc.maxAge() * 1000;
      } else if (expires != null) {
        long expiresAt = expiresLines > 1 ? Long.MIN_VALUE : httpDate(expires, Long.MIN_VALUE);
        // An invalid Expires (e.g. "0") means already expired (RFC 9111 §5.3).
        lifetime = expiresAt == Long.MIN_VALUE ? 0 : Math.max(0, expiresAt - dateValue);
      } else if (!implicitFreshness) {
        lifetime = 0;
      } else {
        heuristic = true;
        long ttl = NEGATIVE_STATUSES.contains(status) ? negativeTtl : defaultTtl;
        lifetime = ttl == 0 && !NEGATIVE_STATUSES.contains(status) ? CachedResponse.FOREVER : ttl;
      }
      lifetime = clamp(lifetime);
    }
    if (upstream != null) {
      lifetime = upstream.lifetimeMillis();
    }
    boolean hasValidator = find(names, values, "etag") || find(names, values, "last-modified");
    boolean shareable = !cc.noStore() && !cc.isPrivate() && !setCookie && !varyStar;
    boolean failure = status >= 500 && status != 501;
    boolean statusOk = status >= 200 && status != 206 && status != 304 && !failure
        && (explicit || cc.isPublic() || HEURISTIC_STATUSES.contains(status));
    boolean worthKeeping = lifetime > 0 || hasValidator;
    boolean negativeOff = heuristic && NEGATIVE_STATUSES.contains(status) && negativeTtl == 0;
    boolean storable = shareable && statusOk && worthKeeping && !negativeOff;

    boolean noStale = cc.mustRevalidate() || cc.proxyRevalidate() || cc.sMaxAge() >= 0 || cc.noCache();
    long swr = cc.staleWhileRevalidate() >= 0 ? cc.staleWhileRevalidate() * 1000 : noStale ? 0 : staleWhileRevalidate;
    long sie = cc.staleIfError() >= 0 ? cc.staleIfError() * 1000 : noStale ? 0 : staleIfError;
    // no-cache: never reused without successful validation (RFC 9111 §5.2.2.4); with the origin's
    // own stale-* beside it, the most restrictive directive wins (§4.2.1).
    if (cc.mustRevalidate() || cc.proxyRevalidate() || cc.noCache()) {
      swr = 0;
      sie = 0;
    }
    boolean authorizedReuse = cc.isPublic() || cc.sMaxAge() >= 0 || cc.mustRevalidate();
    return new CachedResponse(status, names, values, body, vary.toArray(String[]::new),
        new CachedResponse.Timing(requestTime, responseTime, initialAge, lifetime, swr, sie,
            upstream != null || ageValue > 0),
        new CachedResponse.Verdict(storable, shareable, noStale && swr == 0 && sie == 0, authorizedReuse));
  }

  private long clamp(long lifetime) {
    long l = Math.max(lifetime, minTtl);
    return maxTtl > 0 && l > maxTtl ? maxTtl : l;
  }

  private static boolean find(String[] names, String[] values, String lowerName) {
    for (String name : names) {
      if (name.equalsIgnoreCase(lowerName)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The first member of a singleton field sent as a list on one line ({@code Age: 7200, 0} is 7200):
   * the same reading as for several lines, where the first counts.
   */
  private static String firstMember(String value) {
    int comma = value.indexOf(',');
    return (comma < 0 ? value : value.substring(0, comma)).trim();
  }

  /** An HTTP-date (RFC 9110 §5.6.7) in epoch milliseconds, or {@code otherwise}. */
  private static long httpDate(String value, long otherwise) {
    return value == null ? otherwise : HttpDates.parse(value.trim(), otherwise);
  }

  /** Builds a {@link CachePolicy}; every setting is validated when set. */
  public static final class Builder {
    private boolean implicitFreshness = true;
    private Duration defaultTtl = Duration.ZERO;
    private Duration negativeTtl = Duration.ZERO;
    private Duration minTtl = Duration.ZERO;
    private Duration maxTtl = Duration.ZERO;
    private Duration staleWhileRevalidate = Duration.ZERO;
    private Duration staleIfError = Duration.ZERO;
    private LongSupplier clock = System::currentTimeMillis;

    private Builder() {}

    /** Off: responses without explicit freshness are stored only with a validator, revalidated on each use. */
    public Builder implicitFreshness(boolean on) {
      this.implicitFreshness = on;
      return this;
    }

    /** Lifetime of a response without explicit freshness; zero = until evicted. */
    public Builder defaultTtl(Duration ttl) {
      this.defaultTtl = nonNegative("defaultTtl", ttl);
      return this;
    }

    /** Lifetime of a 404/405/410/414/501 without explicit freshness; zero = not stored. */
    public Builder negativeTtl(Duration ttl) {
      this.negativeTtl = nonNegative("negativeTtl", ttl);
      return this;
    }

    /** Bounds every computed lifetime (except {@code no-cache}); a zero maximum means none. */
    public Builder ttlBounds(Duration min, Duration max) {
      nonNegative("minTtl", min);
      nonNegative("maxTtl", max);
      checkArgument(max.isZero() || min.compareTo(max) <= 0, "minTtl %s is above maxTtl %s", min, max);
      this.minTtl = min;
      this.maxTtl = max;
      return this;
    }

    /** Defaults for responses that name no stale window of their own (RFC 5861). */
    public Builder staleDefaults(Duration whileRevalidate, Duration ifError) {
      this.staleWhileRevalidate = nonNegative("staleWhileRevalidate", whileRevalidate);
      this.staleIfError = nonNegative("staleIfError", ifError);
      return this;
    }

    /** The wall clock, epoch milliseconds; tests pass a fake. */
    public Builder clock(LongSupplier millis) {
      this.clock = Objects.requireNonNull(millis, "clock");
      return this;
    }

    public CachePolicy build() {
      return new CachePolicy(this);
    }

    private static Duration nonNegative(String name, Duration d) {
      checkArgument(d != null && !d.isNegative(), "%s must not be negative, was %s", name, d);
      return d;
    }
  }
}
