package io.imgcache.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
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

/** The stored response itself: headers as sent, the body, weight. Freshness rules: {@link CachePolicyTest}. */
class CachedResponseTest {
  private static final byte[] BODY = "PNG bytes".getBytes(StandardCharsets.US_ASCII);

  /** What the origin sends (end-to-end headers only: the origin client removed hop-by-hop ones). */
  private static final List<String> ORIGIN_HEADERS = List.of(
      "content-type", "image/png",
      "ETag", "\"v1\"",
      "Content-Length", "9",
      "Age", "7",
      "Last-Modified", "Tue, 01 Jul 2025 00:00:00 GMT",
      "Cache-Control", "public, max-age=3600",
      "EXPIRES", "Wed, 02 Jul 2025 00:00:00 GMT",
      "X-Imgfit-Node", "a",
      "X-Imgfit-Node", "b");

  private final FakeClock clock = new FakeClock();
  private final CachePolicy policy = CachePolicy.builder().clock(clock).build();

  private CachedResponse of(int status, List<String> headers, byte[] body) {
    return policy.response(status, headers, body);
  }

  private static List<String> headerList(CachedResponse r) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < r.headerCount(); i++) {
      out.add(r.headerName(i));
      out.add(r.headerValue(i));
    }
    return out;
  }

  /**
   * DESIGN §4: every end-to-end header is stored, custom ones and repeats included, in order and
   * with names as given — only Age goes (storage answers carry their own).
   */
  @Test
  void keepsEveryEndToEndHeaderButAgeInOrderWithNamesAsGiven() {
    CachedResponse r = of(200, ORIGIN_HEADERS, BODY);
    assertTrue(r.storable());
    List<String> expected = new ArrayList<>(ORIGIN_HEADERS);
    expected.subList(6, 8).clear(); // Age
    assertEquals(expected, headerList(r));
    assertEquals("image/png", r.header("Content-Type"));
    assertEquals("a", r.header("x-imgfit-node"), "the first of repeated headers");
    assertEquals("\"v1\"", r.etag());
    assertEquals("Tue, 01 Jul 2025 00:00:00 GMT", r.lastModified());
    assertTrue(r.hasValidator());
    assertNull(r.header("Age"));
  }

  /** The old whitelist (Content-Type, ETag, ... only) is gone: a non-storable answer keeps its headers too. */
  @Test
  void nonStorableResponseKeepsEveryHeaderForItsOwnClient() {
    List<String> headers = List.of("Location", "/elsewhere", "Set-Cookie", "a=b", "X-Custom", "1");
    CachedResponse r = of(302, headers, BODY);
    assertFalse(r.storable());
    assertFalse(r.shareable(), "Set-Cookie");
    assertEquals(headers, headerList(r), "Set-Cookie reaches the client the response was loaded for");
    assertEquals("/elsewhere", r.header("location"));
  }

  /** Cache-Control | lower-case header name variant — the header name is case-insensitive. */
  @ParameterizedTest(name = "[{index}] {0}: {1}")
  @CsvSource(textBlock = """
      cache-control, no-store
      CACHE-CONTROL, private
      Cache-control, no-store
      """)
  void cacheControlHeaderNameIsCaseInsensitive(String name, String value) {
    assertFalse(of(200, List.of(name, value), BODY).storable());
  }

  @Test
  void validatorsAreNullWithoutThem() {
    CachedResponse plain = of(200, List.of("Content-Type", "image/png"), BODY);
    assertNull(plain.etag());
    assertNull(plain.lastModified());
    assertFalse(plain.hasValidator());
    assertEquals("W/\"x\"", of(200, List.of("etag", "W/\"x\""), BODY).etag());
  }

  @Test
  void varyNamesAreLowerCaseAndSplit() {
    CachedResponse r = of(200, List.of("Vary", "Accept, ACCEPT-Encoding", "vary", "X-Custom"), BODY);
    assertTrue(r.varies());
    assertArrayEquals(new String[] {"accept", "accept-encoding", "x-custom"}, r.varyNames());
    assertEquals("Accept, ACCEPT-Encoding", r.header("Vary"), "the header itself is kept as sent");
    assertFalse(of(200, List.of(), BODY).varies());
  }

  @Test
  void bodyIsReadOnlyAndIndependentPerCall() {
    CachedResponse r = of(200, List.of(), BODY.clone());
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
    assertEquals(Integer.toString(BODY.length), r.contentLength());

    byte[] copy = r.bodyBytes();
    assertArrayEquals(BODY, copy);
    copy[0] = 'X';
    assertArrayEquals(BODY, r.bodyBytes());
    byte[] viaBuffer = new byte[BODY.length];
    r.body().get(viaBuffer);
    assertArrayEquals(BODY, viaBuffer);
  }

  @Test
  void offHeapKeepsEverythingButWhereTheBodyLives() {
    CachedResponse heap = of(200, ORIGIN_HEADERS, BODY);
    CachedResponse direct = heap.offHeap();
    assertSame(direct, direct.offHeap(), "no second copy");
    assertEquals(headerList(heap), headerList(direct));
    assertArrayEquals(heap.bodyBytes(), direct.bodyBytes());
    assertEquals(heap.lifetimeMillis(), direct.lifetimeMillis());
    assertEquals(heap.ageMillis(clock.now()), direct.ageMillis(clock.now()));
    assertEquals(heap.storable(), direct.storable());
    assertEquals(heap.weigh("/k"), direct.weigh("/k"));
  }

  @Test
  void weighCountsBodyHeadersAndKey() {
    CachedResponse base = of(200, List.of(), new byte[1000]);
    int w = base.weigh("/k");
    // Body: one byte per byte.
    assertEquals(w + 500, of(200, List.of(), new byte[1500]).weigh("/k"));
    // Key: grows with its length (chars are 2 bytes).
    assertTrue(base.weigh("/k" + "x".repeat(100)) >= w + 100);
    // Headers: grow with name and value.
    CachedResponse withHeader = of(200, List.of("Content-Type", "image/png"), new byte[1000]);
    assertTrue(withHeader.weigh("/k") >= w + "Content-Typeimage/png".length());
    // An empty response still costs something: the entry itself.
    assertTrue(of(200, List.of(), new byte[0]).weigh("") > 0);
    // Never less than what it holds.
    assertTrue(w >= 1000 + 2);
  }

  @Test
  void theUpstreamAgeIsNotWeighed() {
    CachedResponse lean = of(200, List.of("Content-Type", "image/png"), BODY);
    CachedResponse aged = of(200, List.of("Content-Type", "image/png", "Age", "1".repeat(40)), BODY);
    assertEquals(lean.weigh("/k"), aged.weigh("/k"));
  }

  @Test
  void rejectsBadArguments() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> of(99, List.of(), BODY));
    assertTrue(e.getMessage().contains("99"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> of(600, List.of(), BODY));
    e = assertThrows(IllegalArgumentException.class, () -> of(200, List.of("Content-Type"), BODY));
    assertTrue(e.getMessage().contains("1"), e.getMessage());
    assertThrows(NullPointerException.class, () -> of(200, List.of(), null));
  }

  @Test
  void toStringSaysWhatThePolicyDecided() {
    String s = of(200, List.of(), BODY).toString();
    assertTrue(s.contains("status=200") && s.contains("storable=true") && s.contains("forever"), s);
  }
}
