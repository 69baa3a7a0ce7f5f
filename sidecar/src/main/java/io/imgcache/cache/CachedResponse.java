package io.imgcache.cache;

import io.undertow.util.HttpString;
import java.nio.ByteBuffer;
import java.util.Locale;

/**
 * An origin response as a shared cache holds it (DESIGN §4): status, every end-to-end header the
 * origin sent (hop-by-hop ones and {@code Age} removed), the body, and what {@link CachePolicy}
 * decided about it — whether it may be stored, shared with coalesced waiters, how long it is fresh
 * and how long it may be served stale. Immutable and thread-safe; made by {@link CachePolicy}.
 *
 * <p>Times are milliseconds of the policy's wall clock. The age follows RFC 9111 §4.2.3: the
 * corrected initial age at reception plus the time resident here since.
 *
 * <p>Prepared for the hit path: a cached body lives off-heap ({@link #offHeap()}), so a hit hands
 * the kernel a {@linkplain #body() duplicate} with no copy, and it keeps the garbage collector's
 * heap small whatever the cache size; header names are pre-parsed {@link HttpString}s and
 * Content-Length is pre-rendered. The direct memory of an evicted entry returns when the collector
 * clears the buffer (entries are never freed by hand: a response may still be writing a duplicate).
 */
public final class CachedResponse {
  /** A freshness lifetime without end ({@code cache.default-ttl = 0}: until evicted). */
  public static final long FOREVER = Long.MAX_VALUE;

  /** Per-entry bookkeeping Caffeine and the JVM add on top of the bytes we count. */
  private static final int OVERHEAD_BYTES = 200;

  private final int status;
  private final HttpString[] headerNames;
  private final String[] headerValues;
  private final ByteBuffer body; // read-only, position 0; never handed out itself
  private final String contentLength;
  private final String etag; // null = none
  private final String lastModified; // null = none
  private final String[] vary; // lower-case field names; empty = no Vary
  private final Timing timing;
  private final Verdict verdict;
  private final Runnable lease; // null: the body is this response's own; else gives a lent body back

  /**
   * When the request that brought the response went out, when the response arrived and how old it
   * was then (RFC 9111 §4.2.3), all in milliseconds.
   */
  record Timing(long requestTime, long responseTime, long initialAge, long lifetime, long staleWhileRevalidate, long staleIfError,
      boolean upstreamAge) {}

  /**
   * What the policy decided. {@code storable}: a shared cache may keep it. {@code shareable}: it may
   * answer other clients than the one it was loaded for (no Set-Cookie, private, no-store, Vary: *).
   * {@code noStale}: never served stale (must-revalidate, proxy-revalidate, s-maxage).
   * {@code authorizedReuse}: may answer a request that carries Authorization (RFC 9111 §3.5).
   */
  record Verdict(boolean storable, boolean shareable, boolean noStale, boolean authorizedReuse) {}

  CachedResponse(int status, String[] names, String[] values, ByteBuffer body, String[] vary, Timing timing,
      Verdict verdict) {
    this.status = status;
    this.headerNames = new HttpString[names.length];
    for (int i = 0; i < names.length; i++) {
      headerNames[i] = HttpString.tryFromString(names[i]);
    }
    this.headerValues = values;
    this.body = body.isReadOnly() ? body : body.asReadOnlyBuffer();
    this.contentLength = Integer.toString(body.capacity());
    this.etag = find(names, values, "ETag");
    this.lastModified = find(names, values, "Last-Modified");
    this.vary = vary;
    this.timing = timing;
    this.verdict = verdict;
    this.lease = null;
  }

  /** {@code other}'s head with {@code body} (read-only, position 0, its length) and {@code lease}. */
  private CachedResponse(CachedResponse other, ByteBuffer body, Runnable lease) {
    this.status = other.status;
    this.headerNames = other.headerNames;
    this.headerValues = other.headerValues;
    this.body = body;
    this.contentLength = body.capacity() == other.body.capacity() ? other.contentLength
        : Integer.toString(body.capacity());
    this.etag = other.etag;
    this.lastModified = other.lastModified;
    this.vary = other.vary;
    this.timing = other.timing;
    this.verdict = other.verdict;
    this.lease = lease;
  }

  /**
   * This response with its body off-heap: what a cache keeps. Responses that pass through once
   * (a peer's answer the hot cache declines, a fallback) stay on the heap and never pay for a
   * direct allocation.
   *
   * @throws IllegalStateException for a {@linkplain #lent() lent} body, which no cache may keep
   */
  public CachedResponse offHeap() {
    if (lease != null) {
      throw new IllegalStateException("a lent body cannot be kept: take owned() first");
    }
    if (body.isDirect()) {
      return this;
    }
    return new CachedResponse(this, copyDirect(body), null);
  }

  private static ByteBuffer copyDirect(ByteBuffer body) {
    return ByteBuffer.allocateDirect(body.capacity()).put(body.duplicate()).flip().asReadOnlyBuffer();
  }

  // ---- lent bodies ------------------------------------------------------------------------------
  //
  // A disk hit answers with a view of a mapped file rather than a copy in new direct memory (which
  // the JVM returns only when the collector runs; running short of it stalls the allocating thread
  // in a collection). Such a response is lent: it answers one request, and whoever writes it gives
  // the body back once the last byte has left, so that the file can be unmapped; it is never
  // stored anywhere.

  /**
   * This response's status, headers and timing with {@code body} (read-only, position 0; {@link
   * #bodyLength()} becomes its capacity). {@code lease}: null when the body is the new response's
   * own; else the body is lent, and {@code lease} gives it back to where it came from (a disk
   * tier's mapping), ignoring every run after its first (a writer may release twice).
   */
  public CachedResponse withBody(ByteBuffer body, Runnable lease) {
    return new CachedResponse(this, body, lease);
  }

  /** Whether the body is lent (see {@link #release}): such a response answers one request, and is never stored. */
  public boolean lent() {
    return lease != null;
  }

  /**
   * Gives a lent body back: call once its last byte has been written (or will never be); neither
   * this response nor a view of its body may be used afterwards. Nothing for an owned body.
   */
  public void release() {
    if (lease != null) {
      lease.run();
    }
  }

  /** This response if it owns its body; else an owned copy (off-heap), the lent body given back. */
  public CachedResponse owned() {
    if (lease == null) {
      return this;
    }
    CachedResponse copy = new CachedResponse(this, copyDirect(body), null);
    lease.run();
    return copy;
  }

  private static String find(String[] names, String[] values, String name) {
    for (int i = 0; i < names.length; i++) {
      if (names[i].equalsIgnoreCase(name)) {
        return values[i];
      }
    }
    return null;
  }

  public int status() {
    return status;
  }

  /** Whether a shared cache may keep this response (RFC 9111 §3 and the operator's settings). */
  public boolean storable() {
    return verdict.storable();
  }

  /**
   * Whether this response may answer clients other than the one whose request loaded it: false for
   * Set-Cookie, {@code private}, {@code no-store} and {@code Vary: *} — such a response reaches its
   * own client only, and a coalesced waiter loads its own.
   */
  public boolean shareable() {
    return verdict.shareable();
  }

  /** Whether a stored copy may answer a request with Authorization (RFC 9111 §3.5). */
  public boolean authorizedReuse() {
    return verdict.authorizedReuse();
  }

  /** Number of headers; read them with {@link #headerName} and {@link #headerValue}. */
  public int headerCount() {
    return headerNames.length;
  }

  public String headerName(int i) {
    return headerNames[i].toString();
  }

  /** The name of header {@code i}, parsed once for the server. */
  public HttpString httpHeaderName(int i) {
    return headerNames[i];
  }

  public String headerValue(int i) {
    return headerValues[i];
  }

  /** The value of the first header called {@code name} (case-insensitive), or null. */
  public String header(String name) {
    for (int i = 0; i < headerNames.length; i++) {
      if (headerNames[i].equalToString(name)) {
        return headerValues[i];
      }
    }
    return null;
  }

  /** The origin's ETag, or null. */
  public String etag() {
    return etag;
  }

  /** The origin's Last-Modified, or null. */
  public String lastModified() {
    return lastModified;
  }

  /** Whether a conditional request can revalidate this response (it has ETag or Last-Modified). */
  public boolean hasValidator() {
    return etag != null || lastModified != null;
  }

  /** The lower-case field names the response varies on; empty when it has no Vary. Do not modify. */
  String[] varyNames() {
    return vary;
  }

  /** Whether the response has a Vary header naming request fields (not {@code *}). */
  public boolean varies() {
    return vary.length > 0;
  }

  // ---- freshness (RFC 9111 §4.2) ------------------------------------------------------------

  /** When the request that brought this response was sent (wall clock, ms): a ban names what went before. */
  public long requestTime() {
    return timing.requestTime();
  }

  /** The current age at {@code now} (RFC 9111 §4.2.3), in milliseconds. */
  public long ageMillis(long now) {
    return timing.initialAge() + Math.max(0, now - timing.responseTime());
  }

  /** The {@code Age} header value at {@code now}: whole seconds. */
  public long ageSeconds(long now) {
    return ageMillis(now) / 1000;
  }

  /**
   * Whether the response arrived with an age of its own (an upstream cache's {@code Age}, or an
   * owner's): then even a fresh load carries {@code Age} on to the client (RFC 9111 §5.1).
   */
  public boolean arrivedAged() {
    return timing.upstreamAge();
  }

  /** The freshness lifetime in milliseconds; {@link #FOREVER} for none. */
  public long lifetimeMillis() {
    return timing.lifetime();
  }

  /** How long past its lifetime the entry is at {@code now}: negative while fresh. */
  public long stalenessMillis(long now) {
    return timing.lifetime() == FOREVER ? Long.MIN_VALUE : ageMillis(now) - timing.lifetime();
  }

  /** Whether it is fresh at {@code now}. */
  public boolean fresh(long now) {
    return stalenessMillis(now) < 0;
  }

  /** Whether it may be served stale at all (not must-revalidate, proxy-revalidate or s-maxage). */
  public boolean mayServeStale() {
    return !verdict.noStale();
  }

  /** How long past its lifetime a stale copy may be answered while it is revalidated (RFC 5861 §3). */
  public long staleWhileRevalidateMillis() {
    return timing.staleWhileRevalidate();
  }

  /** How long past its lifetime a stale copy may be answered when revalidation fails (RFC 5861 §4). */
  public long staleIfErrorMillis() {
    return timing.staleIfError();
  }

  /** Whether and how a stored response may answer a request (RFC 9111 §4, §4.2.4; RFC 5861). */
  public enum Reuse {
    /** Fresh enough for the request: answer it. */
    FRESH,
    /** Stale within stale-while-revalidate: answer it and revalidate in the background. */
    STALE_WHILE_REVALIDATE,
    /** Revalidate (or load) before answering; stale-if-error may still answer if that fails. */
    REVALIDATE
  }

  /**
   * How this stored response may answer a request with directives {@code request} at {@code now}:
   * {@code no-cache} (or {@code Pragma: no-cache}, folded in by the caller) forces revalidation;
   * {@code max-age}, {@code min-fresh} narrow freshness, {@code max-stale} widens it unless the
   * response forbids stale answers.
   */
  public Reuse reuse(CacheControl request, long now) {
    if (request.noCache()) {
      return Reuse.REVALIDATE;
    }
    long age = ageMillis(now);
    long staleness = stalenessMillis(now);
    boolean fresh = staleness < 0;
    if (request.maxAge() >= 0 && age > request.maxAge() * 1000) {
      return Reuse.REVALIDATE; // the client wants nothing older, stale or not
    }
    // Freshness left is lifetime − age; none of a response without end is ever short (and its
    // staleness, Long.MIN_VALUE, must not be negated).
    if (fresh && request.minFresh() >= 0 && timing.lifetime() != FOREVER && -staleness < request.minFresh() * 1000) {
      return Reuse.REVALIDATE;
    }
    if (fresh) {
      return Reuse.FRESH;
    }
    if (!mayServeStale()) {
      return Reuse.REVALIDATE;
    }
    if (request.maxStale() >= 0 && (request.maxStale() == CacheControl.ANY || staleness <= request.maxStale() * 1000)) {
      return Reuse.FRESH;
    }
    // A window of 0 is no window: a response just past its lifetime (staleness 0, e.g. every
    // lifetime-0 entry in the millisecond it was stored) is not answered unrevalidated.
    long swr = timing.staleWhileRevalidate();
    return swr > 0 && staleness <= swr ? Reuse.STALE_WHILE_REVALIDATE : Reuse.REVALIDATE;
  }

  /** Whether a failed revalidation at {@code now} may be answered with this stale copy (RFC 5861 §4). */
  public boolean staleIfError(long now) {
    long staleness = stalenessMillis(now);
    return mayServeStale() && (staleness < 0 || timing.staleIfError() > 0 && staleness <= timing.staleIfError());
  }

  /**
   * How long a cache should keep this entry from {@code now}: for ever with a validator (it can
   * be revalidated cheaply) or without a lifetime; else while it is fresh or may be served stale.
   */
  long retainMillis(long now) {
    if (timing.lifetime() == FOREVER || hasValidator()) {
      return FOREVER;
    }
    long window = Math.max(timing.staleWhileRevalidate(), timing.staleIfError());
    return Math.max(0, timing.lifetime() + window - ageMillis(now));
  }

  Timing timing() {
    return timing;
  }

  Verdict verdict() {
    return verdict;
  }

  // ---- body -------------------------------------------------------------------------------------

  public int bodyLength() {
    return body.capacity();
  }

  /** The body length as a header value, rendered once. */
  public String contentLength() {
    return contentLength;
  }

  /** A new read-only view of the body, positioned at 0: one per response written. */
  public ByteBuffer body() {
    return body.duplicate();
  }

  /** A copy of the body on the heap. Allocates: for tests and revalidation, not the hit path. */
  public byte[] bodyBytes() {
    byte[] copy = new byte[body.capacity()];
    body.duplicate().get(copy);
    return copy;
  }

  /** What this entry costs a cache under {@code key}: body, headers, key and fixed overhead. */
  public int weigh(String key) {
    long bytes = (long) body.capacity() + OVERHEAD_BYTES + 2L * key.length();
    for (int i = 0; i < headerNames.length; i++) {
      bytes += 2L * (headerNames[i].length() + headerValues[i].length());
    }
    return (int) Math.min(Integer.MAX_VALUE, bytes);
  }

  @Override
  public String toString() {
    return "CachedResponse{status=" + status + ", bytes=" + body.capacity() + ", storable=" + verdict.storable()
        + ", shareable=" + verdict.shareable() + ", lifetime="
        + (timing.lifetime() == FOREVER ? "forever" : timing.lifetime() + "ms") + "}";
  }

  static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }
}
