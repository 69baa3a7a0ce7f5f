package io.imgcache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** RFC 9213: CDN-Cache-Control is this cache's Cache-Control when it is a valid dictionary. */
class TargetedCacheControlTest {
  @ParameterizedTest
  @ValueSource(strings = {"max-age=\"60\"", "max-age=60, &&&", "max-age =60", "max-age= 60", "max-age=1.5",
      "MAX-AGE=60"})
  void rfc9213_2_1_anInvalidFieldIsIgnoredAsAWhole(String value) {
    assertNull(CacheControl.parseTargeted(List.of(value)), value);
  }

  @Test
  void rfc9213_2_1_aValidFieldIsParsedAsCacheControl() {
    CacheControl cc = CacheControl.parseTargeted(List.of("foobar, max-age=3600", "private"));
    assertEquals(3600, cc.maxAge());
    assertTrue(cc.isPrivate());
  }

  @Test
  void rfc9213_3_theTargetedFieldOverridesCacheControlAndExpires() {
    CachePolicy policy = CachePolicy.builder().clock(() -> 1_000_000L).build();
    CachedResponse stored = policy.response(200, List.of("Cache-Control", "no-store",
        "CDN-Cache-Control", "max-age=100", "Expires", "0"), new byte[1]);
    assertTrue(stored.storable());
    assertEquals(100_000, stored.lifetimeMillis());
    CachedResponse invalid = policy.response(200, List.of("Cache-Control", "no-store",
        "CDN-Cache-Control", "max-age=\"100\""), new byte[1]);
    assertTrue(!invalid.storable(), "an invalid targeted field leaves Cache-Control in charge");
  }
}
