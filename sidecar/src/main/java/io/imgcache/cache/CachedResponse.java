package io.imgcache.cache;

import static com.google.common.base.Preconditions.checkArgument;

import io.undertow.util.HttpString;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * An origin response held in memory: status, the headers a client must get back, and the body.
 * Immutable and thread-safe.
 *
 * <p>Prepared for the hit path: a cached body lives off-heap ({@link #offHeap()}), so a hit
 * hands the kernel a {@linkplain #body() duplicate} with no copy (a heap array would be copied into
 * a temporary direct buffer on every write), and it keeps the garbage collector's heap small
 * whatever the cache size; header names are pre-parsed {@link HttpString}s and Content-Length is
 * pre-rendered. The direct memory of an evicted entry returns when the collector clears the
 * buffer (entries are never freed by hand: a response may still be writing a duplicate).
 */
public final class CachedResponse {
  /**
   * The headers kept with a cached body: DESIGN §4's five, plus the two without which the bytes
   * would be misread (Content-Encoding) or wrongly shared by clients (Vary). Everything else the
   * origin sent is dropped.
   */
  public static final List<String> STORED_HEADERS = List.of(
      "Content-Type", "ETag", "Last-Modified", "Cache-Control", "Expires", "Content-Encoding", "Vary");

  /** Per-entry bookkeeping Caffeine and the JVM add on top of the bytes we count. */
  private static final int OVERHEAD_BYTES = 160;

  private final int status;
  private final HttpString[] headerNames;
  private final String[] headerValues;
  private final ByteBuffer body; // direct, read-only, position 0; never handed out itself
  private final String contentLength;
  private final String etag;
  private final boolean storable;

  private CachedResponse(int status, String[] names, String[] values, byte[] body, boolean storable) {
    this.status = status;
    this.headerNames = new HttpString[names.length];
    for (int i = 0; i < names.length; i++) {
      headerNames[i] = HttpString.tryFromString(names[i]);
    }
    this.headerValues = values;
    this.body = ByteBuffer.wrap(body).asReadOnlyBuffer();
    this.contentLength = Integer.toString(body.length);
    this.storable = storable;
    this.etag = find(names, values, "ETag");
  }

  private CachedResponse(CachedResponse heap, ByteBuffer direct) {
    this.status = heap.status;
    this.headerNames = heap.headerNames;
    this.headerValues = heap.headerValues;
    this.body = direct;
    this.contentLength = heap.contentLength;
    this.storable = heap.storable;
    this.etag = heap.etag;
  }

  /**
   * This response with its body off-heap: what a cache keeps. Responses that pass through once
   * (a peer's answer the hot cache declines, a fallback) stay on the heap and never pay for a
   * direct allocation.
   */
  public CachedResponse offHeap() {
    if (body.isDirect()) {
      return this;
    }
    return new CachedResponse(this, ByteBuffer.allocateDirect(body.capacity()).put(body.duplicate()).flip()
        .asReadOnlyBuffer());
  }

  /**
   * A response as the origin sent it. {@code headers} alternate name, value; names are kept as
   * given. The caller must not modify {@code body} afterwards; {@link #offHeap()} copies it off-heap
   * when a cache keeps it.
   *
   * <p>It is {@linkplain #storable() storable} when the status is 200, 404 or 410 and {@code
   * Cache-Control} contains neither {@code no-store} nor {@code private}; a storable response keeps
   * only {@link #STORED_HEADERS}.
   */
  public static CachedResponse of(int status, List<String> headers, byte[] body) {
    checkArgument(status >= 100 && status <= 599, "status %s out of range", status);
    checkArgument(headers.size() % 2 == 0, "headers must alternate name and value, got %s items", headers.size());
    Objects.requireNonNull(body, "body");
    boolean storable = (status == 200 || status == 404 || status == 410) && !forbidsStoring(headers);
    int kept = 0;
    String[] names = new String[headers.size() / 2];
    String[] values = new String[names.length];
    for (int i = 0; i < headers.size(); i += 2) {
      String name = headers.get(i);
      if (!storable || isStored(name)) {
        names[kept] = name;
        values[kept] = headers.get(i + 1);
        kept++;
      }
    }
    return new CachedResponse(status, Arrays.copyOf(names, kept), Arrays.copyOf(values, kept), body, storable);
  }

  private static boolean forbidsStoring(List<String> headers) {
    for (int i = 0; i < headers.size(); i += 2) {
      if (headers.get(i).equalsIgnoreCase("Cache-Control")) {
        String value = headers.get(i + 1).toLowerCase(Locale.ROOT);
        if (value.contains("no-store") || value.contains("private")) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean isStored(String name) {
    for (String stored : STORED_HEADERS) {
      if (stored.equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
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

  /** Whether a cache may keep this response (status and Cache-Control allow it). */
  public boolean storable() {
    return storable;
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

  /** A copy of the body on the heap. Allocates: for tests, not the hit path. */
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
    return "CachedResponse{status=" + status + ", bytes=" + body.capacity() + ", storable=" + storable + "}";
  }
}
