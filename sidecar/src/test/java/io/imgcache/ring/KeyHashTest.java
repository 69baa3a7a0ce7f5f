package io.imgcache.ring;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.common.hash.Hashing;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The allocation-free key hash is Guava's murmur3_128 to the bit: nodes of every version must agree on owners. */
class KeyHashTest {
  private static long guava(String key) {
    return Hashing.murmur3_128().hashBytes(key.getBytes(UTF_8)).asLong();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a", "/v2/image/png/003?h=200&w=850", "0123456789abcde", "0123456789abcdef",
      "0123456789abcdef0", "/é/ü?ß=1", "日本語", "\u007f\u0080",
      "abcdefg\u0100", "0123456789abcde\u0100", "\u0100\u0200\u0400\u0800"})
  void matchesGuava(String key) {
    assertEquals(guava(key), KeyHash.of(key), key);
  }

  @Test
  void matchesGuavaOnEveryLengthUpTo100() {
    Random random = new Random(5);
    for (int length = 0; length <= 100; length++) {
      for (int i = 0; i < 50; i++) {
        StringBuilder key = new StringBuilder();
        for (int c = 0; c < length; c++) {
          key.append((char) (i % 10 == 9 ? 32 + random.nextInt(400) : random.nextInt(128))); // some non-ASCII
        }
        assertEquals(guava(key.toString()), KeyHash.of(key.toString()), key::toString);
      }
    }
  }
}
