package io.imgcache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** RFC 9111 §4.1: stored responses selected by the request headers they vary on. */
class VariantsTest {
  private static final String BASE = "/v2/image/png/003?h=200&w=850";
  private static final List<String> FORMATS = List.of("image/avif", "image/webp");

  private final FakeClock clock = new FakeClock();
  private final CachePolicy policy = CachePolicy.builder().clock(clock).build();
  private final List<String> orphans = new ArrayList<>();
  private final Variants variants = new Variants(FORMATS, 1_000, orphans::add);

  private CachedResponse varying(String vary) {
    return policy.response(200, List.of("Content-Type", "image/png", "Vary", vary), new byte[1]);
  }

  /** Request headers from "name: value;; name: value" (NULL = none). */
  private static Variants.Headers request(String spec) {
    Map<String, String> headers = new HashMap<>();
    if (spec != null) {
      for (String line : spec.split(";;")) {
        int colon = line.indexOf(':');
        headers.merge(line.substring(0, colon).trim().toLowerCase(), line.substring(colon + 1).trim(),
            (a, b) -> a + ", " + b);
      }
    }
    return headers::get;
  }

  /** Accept of one request | Accept of another | same variant (formats avif, webp). */
  @ParameterizedTest(name = "[{index}] \"{0}\" vs \"{1}\" -> same {2}")
  @CsvSource(delimiter = '#', nullValues = "NULL", textBlock = """
      image/webp,*/*                       # image/webp;q=0.9                    # true
      image/webp,*/*                       # image/webp                          # true
      image/webp, image/png, */*;q=0.8     # IMAGE/WEBP                          # true
      image/avif,image/webp                # image/webp,image/avif               # true
      image/avif,image/webp                # image/webp                          # false
      image/avif,image/webp,*/*            # image/avif;q=0.5, image/webp;q=0.4  # true
      image/webp;q=0                       # */*                                 # true
      image/webp;q=0.0                     # image/png                           # true
      */*                                  # text/html,image/png                 # true
      image/webp                           # */*                                 # false
      */*                                  # NULL                                # false
      """)
  void acceptIsReducedToTheConfiguredFormats(String accept, String other, boolean same) {
    CachedResponse response = varying("Accept");
    String a = variants.keyFor(BASE, response, request(accept == null ? null : "Accept: " + accept));
    String b = variants.keyFor(BASE, response, request(other == null ? null : "Accept: " + other));
    assertEquals(same, a.equals(b), a + " vs " + b);
    assertEquals(BASE, Variants.base(a));
  }

  @Test
  void noConfiguredFormatsTakesAcceptWhole() {
    Variants whole = new Variants(List.of(), 10, key -> { });
    CachedResponse response = varying("Accept");
    assertNotEquals(whole.keyFor(BASE, response, request("Accept: image/webp,*/*")),
        whole.keyFor(BASE, response, request("Accept: image/webp")));
    assertEquals(whole.keyFor(BASE, response, request("Accept: image/webp, */*")),
        whole.keyFor(BASE, response, request("Accept: image/webp,*/*")), "elements are trimmed");
  }

  /** Vary | request a | request b | same variant. */
  @ParameterizedTest(name = "[{index}] Vary: {0}; {1} vs {2} -> same {3}")
  @CsvSource(delimiter = '#', nullValues = "NULL", textBlock = """
      Accept-Encoding          # Accept-Encoding: gzip, br         # Accept-Encoding: gzip,br           # true
      Accept-Encoding          # Accept-Encoding: gzip;; Accept-Encoding: br # Accept-Encoding: gzip, br # true
      Accept-Encoding          # Accept-Encoding: br, gzip         # Accept-Encoding: gzip, br          # false
      Accept-Encoding          # Accept-Encoding:                  # NULL                               # false
      Accept-Encoding          # User-Agent: x                     # User-Agent: y                      # true
      accept-language, X-Tenant # Accept-Language: en;; X-Tenant: a # Accept-Language: en;; X-Tenant: b # false
      ACCEPT-LANGUAGE          # accept-language: en               # Accept-Language: en                # true
      """)
  void rfc9111_4_1_variantsAreSelectedByTheNamedRequestHeaders(String vary, String a, String b, boolean same) {
    CachedResponse response = varying(vary);
    assertEquals(same, variants.keyFor(BASE, response, request(a)).equals(variants.keyFor(BASE, response, request(b))));
  }

  @Test
  void rfc9111_4_1_aRequestFindsItsVariantOnceTheIndexKnowsTheVaryNames() {
    Variants.Headers webp = request("Accept: image/webp,*/*");
    Variants.Headers avif = request("Accept: image/avif,image/webp");
    assertEquals(BASE, variants.keyFor(BASE, webp), "nothing known yet: the base key");

    CachedResponse response = varying("Accept");
    String stored = variants.record(BASE, response, webp);
    assertEquals(variants.keyFor(BASE, response, webp), stored);
    assertEquals(stored, variants.keyFor(BASE, webp));
    assertEquals(stored, variants.keyFor(BASE, request("Accept: image/webp;q=0.9")));
    assertNotEquals(stored, variants.keyFor(BASE, avif));

    String other = variants.record(BASE, response, avif);
    assertEquals(List.of(other, stored).stream().sorted().toList(),
        variants.forget(BASE).stream().sorted().toList(), "purge finds every variant");
    assertEquals(BASE, variants.keyFor(BASE, webp), "forgotten");
  }

  @Test
  void rfc9111_4_1_theLatestResponsesVaryNamesSelect() {
    Variants.Headers req = request("Accept: image/webp;; Accept-Language: en");
    String byAccept = variants.record(BASE, varying("Accept"), req);
    String byLanguage = variants.record(BASE, varying("Accept-Language"), req);
    assertNotEquals(byAccept, byLanguage);
    assertEquals(byLanguage, variants.keyFor(BASE, req));
  }

  /**
   * Regression: when a response's Vary names changed, the variant keys stored under the old names
   * left the index without being reported, so a purge (which removes what {@code forget} returns)
   * missed them — and once the origin varied on the old names again, the purged-but-still-stored
   * copy answered again.
   */
  @Test
  void purgeFindsVariantsStoredUnderEarlierVaryNames() {
    Variants.Headers req = request("Accept: image/webp;; Accept-Language: en");
    String byAccept = variants.record(BASE, varying("Accept"), req);
    String byLanguage = variants.record(BASE, varying("Accept-Language"), req);
    assertEquals(List.of(byAccept, byLanguage).stream().sorted().toList(),
        variants.forget(BASE).stream().sorted().toList());
  }

  @Test
  void aResponseWithoutVaryIsStoredUnderTheBaseKey() {
    CachedResponse plain = policy.response(200, List.of(), new byte[1]);
    assertEquals(BASE, variants.record(BASE, plain, request("Accept: image/webp")));
    assertEquals(BASE, variants.keyFor(BASE, plain, request("Accept: image/webp")));
    assertEquals(BASE, Variants.base(BASE));
  }

  @Test
  void variantKeysOfBaseKeysTheIndexDropsAreReportedOrphaned() {
    Variants small = new Variants(FORMATS, 1, orphans::add);
    List<String> recorded = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      recorded.add(small.record("/k" + i, varying("Accept"), request("Accept: image/webp")));
    }
    assertTrue(orphans.size() >= 49 - 1, "orphans: " + orphans.size()); // Caffeine may keep one over briefly
    assertTrue(recorded.containsAll(orphans));
  }

  @Test
  void rejectsNonPositiveMaxBases() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Variants(FORMATS, 0, key -> { }));
    assertTrue(e.getMessage().contains("0"), e.getMessage());
  }
}
