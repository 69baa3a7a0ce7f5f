package io.imgcache.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CachedResponseTest {
  private static final byte[] BODY = "PNG bytes".getBytes(StandardCharsets.US_ASCII);

  /** What the origin sends: the stored headers, mixed case, and ones that must be dropped. */
  private static final List<String> ORIGIN_HEADERS = List.of(
      "content-type", "image/png",
      "Set-Cookie", "session=secret",
      "ETag", "\"v1\"",
      "Content-Length", "9",
      "Last-Modified", "Tue, 01 Jul 2025 00:00:00 GMT",
      "Connection", "keep-alive",
      "Cache-Control", "public, max-age=3600",
      "EXPIRES", "Wed, 02 Jul 2025 00:00:00 GMT",
      "X-Imgfit-Node", "a");

  private static List<String> headerList(CachedResponse r) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < r.headerCount(); i++) {
      out.add(r.headerName(i));
      out.add(r.headerValue(i));
    }
    return out;
  }

  /** status | Cache-Control (NULL = none) | storable. */
  @ParameterizedTest(name = "[{index}] {0} Cache-Control: {1} -> storable {2}")
  @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
      200 | NULL                       | true
      404 | NULL                       | true
      410 | NULL                       | true
      200 | public, max-age=3600       | true
      200 | no-cache                   | true
      404 | max-age=10                 | true
      200 | no-store                   | false
      200 | private                    | false
      200 | private, max-age=60        | false
      200 | max-age=0, No-Store        | false
      200 | PRIVATE                    | false
      404 | no-store                   | false
      410 | private                    | false
      201 | NULL                       | false
      204 | NULL                       | false
      206 | NULL                       | false
      301 | NULL                       | false
      302 | NULL                       | false
      304 | NULL                       | false
      400 | NULL                       | false
      403 | NULL                       | false
      500 | NULL                       | false
      502 | NULL                       | false
      503 | public, max-age=3600       | false
      """)
  void storableRules(int status, String cacheControl, boolean storable) {
    List<String> headers = cacheControl == null
        ? List.of("Content-Type", "image/png")
        : List.of("Content-Type", "image/png", "Cache-Control", cacheControl);
    CachedResponse r = CachedResponse.of(status, headers, BODY);
    assertEquals(storable, r.storable());
    assertEquals(status, r.status());
  }

  @Test
  void cacheControlHeaderNameIsCaseInsensitive() {
    assertEquals(false, CachedResponse.of(200, List.of("cache-control", "no-store"), BODY).storable());
    assertEquals(false, CachedResponse.of(200, List.of("CACHE-CONTROL", "private"), BODY).storable());
  }

  @Test
  void anyCacheControlHeaderForbidsStoring() {
    CachedResponse r = CachedResponse.of(200,
        List.of("Cache-Control", "max-age=60", "Cache-Control", "no-store"), BODY);
    assertEquals(false, r.storable());
  }

  @Test
  void storableKeepsOnlyStoredHeadersInOrderWithNamesAsGiven() {
    CachedResponse r = CachedResponse.of(200, ORIGIN_HEADERS, BODY);
    assertTrue(r.storable());
    assertEquals(List.of(
        "content-type", "image/png",
        "ETag", "\"v1\"",
        "Last-Modified", "Tue, 01 Jul 2025 00:00:00 GMT",
        "Cache-Control", "public, max-age=3600",
        "EXPIRES", "Wed, 02 Jul 2025 00:00:00 GMT"), headerList(r));
    for (int i = 0; i < r.headerCount(); i++) {
      String name = r.headerName(i);
      assertTrue(CachedResponse.STORED_HEADERS.stream().anyMatch(name::equalsIgnoreCase), name);
    }
    assertNull(r.header("Set-Cookie"));
    assertEquals("image/png", r.header("Content-Type"));
    assertEquals("\"v1\"", r.etag());
  }

  @Test
  void storedHeadersAreTheDesignListPlusEncodingAndVary() {
    assertEquals(List.of("Content-Type", "ETag", "Last-Modified", "Cache-Control", "Expires", "Content-Encoding",
        "Vary"), CachedResponse.STORED_HEADERS);
  }

  @Test
  void nonStorableKeepsEveryHeader() {
    List<String> headers = new ArrayList<>(ORIGIN_HEADERS);
    headers.addAll(List.of("Location", "/elsewhere"));
    CachedResponse r = CachedResponse.of(301, headers, BODY);
    assertEquals(false, r.storable());
    assertEquals(headers, headerList(r));
    assertEquals("/elsewhere", r.header("location"));

    List<String> noStore = List.of("Cache-Control", "no-store", "Set-Cookie", "a=b");
    CachedResponse r2 = CachedResponse.of(200, noStore, BODY);
    assertEquals(noStore, headerList(r2));
  }

  @Test
  void etagIsNullWithoutOne() {
    assertNull(CachedResponse.of(200, List.of("Content-Type", "image/png"), BODY).etag());
    assertEquals("W/\"x\"", CachedResponse.of(200, List.of("etag", "W/\"x\""), BODY).etag());
  }

  @Test
  void bodyIsReadOnlyAndIndependentPerCall() {
    CachedResponse r = CachedResponse.of(200, List.of(), BODY.clone());
    ByteBuffer first = r.body();
    ByteBuffer second = r.body();
    assertNotSame(first, second);
    assertTrue(first.isReadOnly());
    assertThrows(ReadOnlyBufferException.class, () -> first.put(0, (byte) 'X'));
    assertFalse(first.hasArray(), "no backing array to write through");
    assertTrue(r.offHeap().body().isDirect(), "off-heap: a hit hands the kernel the buffer without a copy");

    first.get(new byte[4]);
    assertEquals(4, first.position());
    assertEquals(0, second.position());
    assertEquals(BODY.length, second.remaining());
    assertEquals(0, r.body().position());
    assertEquals(BODY.length, r.bodyLength());

    byte[] copy = r.bodyBytes();
    assertArrayEquals(BODY, copy);
    copy[0] = 'X';
    assertArrayEquals(BODY, r.bodyBytes());
    byte[] viaBuffer = new byte[BODY.length];
    r.body().get(viaBuffer);
    assertArrayEquals(BODY, viaBuffer);
  }

  @Test
  void weighCountsBodyHeadersAndKey() {
    CachedResponse base = CachedResponse.of(200, List.of(), new byte[1000]);
    int w = base.weigh("/k");
    // Body: one byte per byte.
    assertEquals(w + 500, CachedResponse.of(200, List.of(), new byte[1500]).weigh("/k"));
    // Key: grows with its length (chars are 2 bytes).
    assertTrue(base.weigh("/k" + "x".repeat(100)) >= w + 100);
    // Headers: grow with name and value.
    CachedResponse withHeader = CachedResponse.of(200, List.of("Content-Type", "image/png"), new byte[1000]);
    assertTrue(withHeader.weigh("/k") >= w + "Content-Typeimage/png".length());
    // An empty response still costs something: the entry itself.
    assertTrue(CachedResponse.of(200, List.of(), new byte[0]).weigh("") > 0);
    // Never less than what it holds.
    assertTrue(w >= 1000 + 2);
  }

  @Test
  void droppedHeadersAreNotWeighed() {
    CachedResponse lean = CachedResponse.of(200, List.of("Content-Type", "image/png"), BODY);
    CachedResponse noisy = CachedResponse.of(200,
        List.of("Content-Type", "image/png", "Set-Cookie", "x".repeat(4000)), BODY);
    assertEquals(lean.weigh("/k"), noisy.weigh("/k"));
  }

  @Test
  void rejectsBadArguments() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> CachedResponse.of(99, List.of(), BODY));
    assertTrue(e.getMessage().contains("99"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> CachedResponse.of(600, List.of(), BODY));
    e = assertThrows(IllegalArgumentException.class, () -> CachedResponse.of(200, List.of("Content-Type"), BODY));
    assertTrue(e.getMessage().contains("1"), e.getMessage());
    assertThrows(NullPointerException.class, () -> CachedResponse.of(200, List.of(), null));
  }
}
