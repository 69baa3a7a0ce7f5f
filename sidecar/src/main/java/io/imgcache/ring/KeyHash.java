package io.imgcache.ring;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.google.common.hash.HashFunction;
import com.google.common.hash.Hashing;

/**
 * A key's ring position: the first 64 bits of murmur3_128 (seed 0) of its UTF-8 bytes, exactly as
 * Guava's {@code Hashing.murmur3_128().hashBytes(bytes).asLong()} computes it, but for the usual
 * all-ASCII key straight from the string's chars, allocating nothing (issue 16: owner() is on
 * every request). Other keys go through Guava. Stateless and thread-safe.
 */
final class KeyHash {
  private static final HashFunction GUAVA = Hashing.murmur3_128();
  private static final long NOT_ASCII = 0x8080_8080_8080_8080L;
  private static final long C1 = 0x87c37b91114253d5L;
  private static final long C2 = 0x4cf5ad432745937fL;

  private KeyHash() {}

  static long of(String key) {
    int length = key.length();
    long h1 = 0;
    long h2 = 0;
    long chars = 0; // every char read, or-ed: a non-ASCII one sends the key to Guava at the end
    int i = 0;
    for (; i + 16 <= length; i += 16) {
      long k1 = littleEndian(key, i, 8);
      long k2 = littleEndian(key, i + 8, 8);
      chars |= k1 | k2;
      h1 ^= mixK1(k1);
      h1 = Long.rotateLeft(h1, 27) + h2;
      h1 = h1 * 5 + 0x52dce729;
      h2 ^= mixK2(k2);
      h2 = Long.rotateLeft(h2, 31) + h1;
      h2 = h2 * 5 + 0x38495ab5;
    }
    int rest = length - i;
    if (rest > 0) {
      long k1 = littleEndian(key, i, Math.min(rest, 8));
      long k2 = rest > 8 ? littleEndian(key, i + 8, rest - 8) : 0;
      chars |= k1 | k2;
      h1 ^= mixK1(k1);
      h2 ^= mixK2(k2);
    }
    if ((chars & NOT_ASCII) != 0) {
      return GUAVA.hashBytes(key.getBytes(UTF_8)).asLong();
    }
    h1 ^= length;
    h2 ^= length;
    h1 += h2;
    h2 += h1;
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    return h1 + h2;
  }

  /**
   * {@code count} ≤ 8 chars from {@code from}, as little-endian bytes; a char above 0x7f is read
   * as 0x80, which {@link #NOT_ASCII} catches.
   */
  private static long littleEndian(String s, int from, int count) {
    long v = 0;
    for (int j = count - 1; j >= 0; j--) {
      v = v << 8 | Math.min(s.charAt(from + j), 0x80);
    }
    return v;
  }

  private static long mixK1(long k1) {
    return Long.rotateLeft(k1 * C1, 31) * C2;
  }

  private static long mixK2(long k2) {
    return Long.rotateLeft(k2 * C2, 33) * C1;
  }

  private static long fmix64(long k) {
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    k *= 0xc4ceb9fe1a85ec53L;
    k ^= k >>> 33;
    return k;
  }
}
