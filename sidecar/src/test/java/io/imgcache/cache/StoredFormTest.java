package io.imgcache.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The disk tier's metadata format: what {@link StoredForm#encode} writes decodes to an equal
 * response — ASCII, a variant key with its NUL separators, non-ASCII header values, values past
 * 64 KiB — and bytes cut short or of another version are refused, never decoded into garbage.
 */
class StoredFormTest {
  private static final CachePolicy POLICY = CachePolicy.builder().build();

  private static CachedResponse response(String... headers) {
    return POLICY.response(200, List.of(headers), "body".getBytes(StandardCharsets.US_ASCII));
  }

  private static void assertRoundTrip(String key, CachedResponse written) throws IOException {
    byte[] metadata = StoredForm.encode(key, written);
    ByteBuffer body = ByteBuffer.wrap(written.bodyBytes());

    CachedResponse read = StoredForm.decode(metadata, body);

    assertEquals(key, StoredForm.key(metadata));
    assertEquals(written.status(), read.status());
    assertEquals(written.headerCount(), read.headerCount());
    for (int i = 0; i < written.headerCount(); i++) {
      assertEquals(written.headerName(i), read.headerName(i));
      assertEquals(written.headerValue(i), read.headerValue(i));
    }
    assertArrayEquals(written.varyNames(), read.varyNames());
    assertEquals(written.timing(), read.timing());
    assertEquals(written.verdict(), read.verdict());
    assertArrayEquals(written.bodyBytes(), read.bodyBytes());
  }

  @Test
  void anAsciiResponseReadsBackEqual() throws IOException {
    assertRoundTrip("/v2/image/png/3?w=850", response("Content-Type", "image/png", "ETag", "\"3\"",
        "Cache-Control", "max-age=60, stale-while-revalidate=30", "Vary", "Accept"));
  }

  @Test
  void aVariantKeyAndNonAsciiValuesReadBackEqual() throws IOException {
    // Variant keys hold NULs, which modified UTF-8 writes as two bytes; values may be UTF-8.
    assertRoundTrip("/v2/image/png/3\0accept=image/webp\0", response("Content-Type", "image/png",
        "Content-Disposition", "inline; filename=\"café-ø.png\"", "X-Note", "日本"));
  }

  @Test
  void aHeaderValuePast64KiBReadsBackEqual() throws IOException {
    char[] big = new char[70_000];
    Arrays.fill(big, 'v');
    assertRoundTrip("/k", response("X-Big", new String(big)));
  }

  @Test
  void bytesCutShortOrOfAnotherVersionAreRefused() {
    byte[] metadata = StoredForm.encode("/v2/image/png/3", response("Content-Type", "image/png"));
    for (int length : new int[] {0, 1, 3, metadata.length / 2, metadata.length - 1}) {
      byte[] cut = Arrays.copyOf(metadata, length);
      assertThrows(IOException.class, () -> StoredForm.decode(cut, ByteBuffer.allocate(0)), "cut at " + length);
    }
    byte[] other = metadata.clone();
    other[0] = 2;
    assertThrows(IOException.class, () -> StoredForm.key(other));
  }
}
