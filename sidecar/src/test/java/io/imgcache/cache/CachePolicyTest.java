package io.imgcache.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.cache.CachedResponse.Reuse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a shared cache may do with a response (RFC 9111 §3, §4, RFC 5861), one rule per test, on a
 * fake wall clock: the response is received at {@code clock.now()} unless a test says otherwise.
 */
class CachePolicyTest {
  private static final byte[] BODY = "PNG bytes".getBytes(StandardCharsets.US_ASCII);
  private static final CacheControl NONE = CacheControl.NONE;

  private final FakeClock clock = new FakeClock();

  private CachePolicy.Builder builder() {
    return CachePolicy.builder().clock(clock);
  }

  private CachePolicy defaults() {
    return builder().build();
  }

  private static CachedResponse respond(CachePolicy policy, int status, String... headers) {
    return policy.response(status, List.of(headers), BODY);
  }

  private CachedResponse respond(int status, String... headers) {
    return respond(defaults(), status, headers);
  }

  /** The header list, pipes for commas ("Cache-Control: a| b" → "a, b"), NULL for none. */
  private static String[] headers(String spec) {
    if (spec == null) {
      return new String[0];
    }
    List<String> out = new ArrayList<>();
    for (String line : spec.split(";;")) {
      int colon = line.indexOf(':');
      out.add(line.substring(0, colon).trim());
      out.add(line.substring(colon + 1).trim().replace('|', ','));
    }
    return out.toArray(String[]::new);
  }

  private static long seconds(long s) {
    return s * 1000;
  }

  // ---- freshness lifetime (§4.2.1) ---------------------------------------------------------------

  @Test
  void rfc9111_4_2_1_sMaxageWinsOverMaxAge() {
    CachedResponse r = respond(200, "Cache-Control", "max-age=60, s-maxage=30", "Expires", clock.httpDate(120));
    assertEquals(seconds(30), r.lifetimeMillis());
    clock.advanceSeconds(29);
    assertTrue(r.fresh(clock.now()));
    clock.advanceSeconds(2);
    assertFalse(r.fresh(clock.now()));
  }

  @Test
  void rfc9111_4_2_1_maxAgeWinsOverExpires() {
    CachedResponse r = respond(200, "Date", clock.httpDate(0), "Expires", clock.httpDate(120),
        "Cache-Control", "max-age=60");
    assertEquals(seconds(60), r.lifetimeMillis());
  }

  @Test
  void rfc9111_4_2_1_expiresMinusDate() {
    // Date 10 s ago (the origin's clock, or a hop that held it): lifetime Expires − Date, age 10 s.
    CachedResponse r = respond(200, "Date", clock.httpDate(-10), "Expires", clock.httpDate(50));
    assertEquals(seconds(60), r.lifetimeMillis());
    assertEquals(10, r.ageSeconds(clock.now()));
    clock.advanceSeconds(49);
    assertTrue(r.fresh(clock.now()));
    clock.advanceSeconds(1);
    assertFalse(r.fresh(clock.now()));
  }

  @Test
  void rfc9111_4_2_1_expiresWithoutDateCountsFromReception() {
    CachedResponse r = respond(200, "Expires", clock.httpDate(60));
    assertEquals(seconds(60), r.lifetimeMillis());
  }

  @ParameterizedTest(name = "[{index}] Expires: {0}")
  @ValueSource(strings = {"0", "-1", "never", "Thu, 32 Foo 2025 99:00:00 GMT", ""})
  void rfc9111_5_3_invalidExpiresIsStale(String expires) {
    CachedResponse withValidator = respond(200, "Expires", expires, "ETag", "\"v1\"");
    assertEquals(0, withValidator.lifetimeMillis());
    assertFalse(withValidator.fresh(clock.now()), "an invalid Expires means already expired");
    assertTrue(withValidator.storable(), "stored, to be revalidated");
    assertEquals(Reuse.REVALIDATE, withValidator.reuse(NONE, clock.now()));

    assertFalse(respond(200, "Expires", expires).storable(), "stale at once and no validator: not worth keeping");
  }

  @Test
  void rfc9111_4_2_1_expiresInThePastIsStale() {
    CachedResponse r = respond(200, "Date", clock.httpDate(0), "Expires", clock.httpDate(-3600), "ETag", "\"v\"");
    assertEquals(0, r.lifetimeMillis());
    assertFalse(r.fresh(clock.now()));
  }

  @Test
  void rfc9111_4_2_1_invalidMaxAgeIsStaleAndDoesNotFallBackToExpires() {
    CachedResponse r = respond(200, "Cache-Control", "max-age=soon", "Expires", clock.httpDate(3600), "ETag", "\"v\"");
    assertEquals(0, r.lifetimeMillis());
    assertFalse(r.fresh(clock.now()));
  }

  // ---- age (§4.2.3) ------------------------------------------------------------------------------

  @Test
  void rfc9111_4_2_3_initialAgeIsUpstreamAgePlusResponseDelay() {
    long requestTime = clock.now();
    clock.advanceSeconds(2); // the origin took 2 s to answer
    String date = clock.httpDate(0);
    CachedResponse r = defaults().response(200,
        List.of("Date", date, "Age", "10", "Cache-Control", "max-age=60"), BODY, requestTime, clock.now(), null);
    assertEquals(seconds(12), r.ageMillis(clock.now()), "corrected_age_value = age_value + response_delay");
    assertNull(r.header("Age"), "the upstream Age is not kept: every answer from storage carries its own");
    clock.advanceSeconds(5);
    assertEquals(17, r.ageSeconds(clock.now()), "plus the time resident here");
    clock.advanceSeconds(43);
    assertFalse(r.fresh(clock.now()), "60 s of lifetime, 12 of them already used upstream");
  }

  @Test
  void rfc9111_4_2_3_apparentAgeFromDateWinsWhenLarger() {
    CachedResponse r = respond(200, "Date", clock.httpDate(-30), "Age", "5", "Cache-Control", "max-age=60");
    assertEquals(seconds(30), r.ageMillis(clock.now()));
  }

  @Test
  void rfc9111_4_2_3_dateInTheFutureIsNoNegativeAge() {
    CachedResponse r = respond(200, "Date", clock.httpDate(300), "Cache-Control", "max-age=60");
    assertEquals(0, r.ageMillis(clock.now()));
    assertTrue(r.fresh(clock.now()));
  }

  @ParameterizedTest(name = "[{index}] Age: {0}")
  @ValueSource(strings = {"x", "-3", "1.5"})
  void rfc9111_5_1_invalidAgeCountsAsZero(String age) {
    CachedResponse r = respond(200, "Age", age, "Cache-Control", "max-age=60");
    assertEquals(0, r.ageMillis(clock.now()));
  }

  /** http-tests/cache-tests age-parse-suffix and age-parse-prefix: a list on one line reads as its first member. */
  @ParameterizedTest(name = "[{index}] Age: {0}")
  @CsvSource(delimiter = '#', textBlock = """
      7200, 0   # 7200
      0, 7200   # 0
      7200 ,0   # 7200
      x, 7200   # 0
      """)
  void rfc9111_5_1_ageSentAsAListCountsItsFirstMember(String age, long seconds) {
    CachedResponse r = respond(200, "Age", age, "Cache-Control", "max-age=3600");
    assertEquals(seconds(seconds), r.ageMillis(clock.now()));
    assertEquals(seconds < 3600, r.fresh(clock.now()));
  }

  @Test
  void upstreamOwnersAgeAndLifetimeAreTakenAsTheyAre() {
    long now = clock.now();
    CachedResponse r = defaults().response(200, List.of("Cache-Control", "max-age=3600", "Age", "999"), BODY, now,
        now, new CachePolicy.Upstream(seconds(20), seconds(30)));
    assertEquals(seconds(20), r.ageMillis(now));
    assertEquals(seconds(30), r.lifetimeMillis(), "a hot copy never outlives the owner's");
  }

  // ---- storability (§3) --------------------------------------------------------------------------

  /** Headers (name: value;; ..., '|' for ',') | storable | shareable. */
  @ParameterizedTest(name = "[{index}] {0} -> storable {1}, shareable {2}")
  @CsvSource(delimiter = '#', nullValues = "NULL", textBlock = """
      NULL                                          # true  # true
      Cache-Control: no-store                       # false # false
      Cache-Control: max-age=60| No-Store           # false # false
      Cache-Control: max-age=60;; Cache-Control: no-store # false # false
      Cache-Control: private                        # false # false
      Cache-Control: PRIVATE| max-age=60            # false # false
      Cache-Control: private="Set-Cookie"           # false # false
      Set-Cookie: session=secret                    # false # false
      set-cookie: a=b;; Cache-Control: public| max-age=60 # false # false
      Vary: *                                       # false # false
      Vary: Accept| *                               # false # false
      Vary: Accept                                  # true  # true
      Cache-Control: public| max-age=60             # true  # true
      """)
  void rfc9111_3_noStorePrivateSetCookieVaryStarAreNotStorable(String spec, boolean storable, boolean shareable) {
    CachedResponse r = respond(200, headers(spec));
    assertEquals(storable, r.storable(), "storable");
    assertEquals(shareable, r.shareable(), "shareable");
  }

  /** status | headers | storable (default policy: default-ttl 0, negative-ttl 0). */
  @ParameterizedTest(name = "[{index}] {0} {1} -> storable {2}")
  @CsvSource(delimiter = '#', nullValues = "NULL", textBlock = """
      200 # NULL                                  # true
      203 # NULL                                  # true
      204 # NULL                                  # true
      300 # NULL                                  # true
      301 # Location: /elsewhere                  # true
      308 # Location: /elsewhere                  # true
      302 # Location: /elsewhere                  # false
      302 # Location: /elsewhere;; Cache-Control: max-age=60 # true
      302 # Location: /elsewhere;; Expires: Wed, 02 Jul 2025 00:00:00 GMT # true
      302 # Cache-Control: public                 # true
      303 # NULL                                  # false
      307 # NULL                                  # false
      307 # Cache-Control: s-maxage=60            # true
      201 # NULL                                  # false
      201 # Cache-Control: max-age=60             # true
      400 # NULL                                  # false
      403 # NULL                                  # false
      403 # Cache-Control: max-age=60             # true
      206 # Cache-Control: max-age=60             # false
      304 # Cache-Control: max-age=60             # false
      404 # Cache-Control: max-age=60             # true
      410 # Cache-Control: max-age=60             # true
      """)
  void rfc9111_3_statusCacheableByDefaultOrWithExplicitFreshness(int status, String spec, boolean storable) {
    assertEquals(storable, respond(status, headers(spec)).storable());
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(ints = {500, 502, 503, 504, 599})
  void rfc9111_3_serverErrorsAreNotStoredEvenWithExplicitFreshness(int status) {
    assertFalse(respond(status).storable());
    CachedResponse explicit = respond(status, "Cache-Control", "public, max-age=3600", "ETag", "\"e\"");
    assertFalse(explicit.storable(), "a 5xx is passed on as sent, never stored");
    assertTrue(explicit.shareable(), "but a coalesced waiter may get it: it is what the origin answered");
  }

  @Test
  void rfc9111_3_notImplemented501IsANegativeAnswerNotAFailure() {
    CachePolicy policy = builder().negativeTtl(Duration.ofSeconds(5)).build();
    assertTrue(respond(policy, 501).storable());
    assertEquals(seconds(5), respond(policy, 501).lifetimeMillis());
  }

  @Test
  void rfc9111_5_2_2_4_noCacheResponseIsStoredOnlyWithAValidatorAndAlwaysRevalidated() {
    assertFalse(respond(200, "Cache-Control", "no-cache").storable());
    CachedResponse r = respond(200, "Cache-Control", "no-cache, max-age=3600", "ETag", "\"v\"");
    assertTrue(r.storable());
    assertEquals(0, r.lifetimeMillis());
    assertEquals(Reuse.REVALIDATE, r.reuse(NONE, clock.now()));
  }

  /**
   * Regression: {@code no-cache} with the origin's own {@code stale-while-revalidate} was answered
   * stale without validation — no-cache forbids any reuse without successful validation (RFC 9111
   * §5.2.2.4, §4.2.4), and conflicting directives go to the most restrictive (§4.2.1).
   */
  @Test
  void rfc9111_5_2_2_4_noCacheResponseIsNeverServedStale() {
    CachedResponse r = respond(200, "Cache-Control", "no-cache, stale-while-revalidate=60, stale-if-error=60",
        "ETag", "\"v\"");
    assertFalse(r.mayServeStale());
    assertEquals(Reuse.REVALIDATE, r.reuse(NONE, clock.now()));
    assertEquals(Reuse.REVALIDATE, r.reuse(CacheControl.parse("max-stale"), clock.now()));
    assertFalse(r.staleIfError(clock.now()));
  }

  // ---- implicit freshness, default-ttl, negative-ttl, clamps ---------------------------------------

  @Test
  void implicitFreshnessOff_storedOnlyWithAValidatorAndRevalidatedBeforeReuse() {
    CachePolicy strict = builder().implicitFreshness(false).defaultTtl(Duration.ofHours(1)).build();
    assertFalse(respond(strict, 200).storable(), "no validator: nothing to revalidate with");
    for (String[] validator : List.of(new String[] {"ETag", "\"v1\""},
        new String[] {"Last-Modified", "Tue, 01 Jul 2025 00:00:00 GMT"})) {
      CachedResponse r = respond(strict, 200, validator);
      assertTrue(r.storable(), validator[0]);
      assertEquals(0, r.lifetimeMillis(), validator[0]);
      assertEquals(Reuse.REVALIDATE, r.reuse(NONE, clock.now()), validator[0]);
      assertEquals(CachedResponse.FOREVER, r.retainMillis(clock.now()), "kept for revalidation");
    }
    CachedResponse explicit = respond(strict, 200, "Cache-Control", "max-age=60");
    assertTrue(explicit.storable());
    assertEquals(Reuse.FRESH, explicit.reuse(NONE, clock.now()), "explicit freshness is unaffected");
  }

  @Test
  void defaultTtlZero_isForever() {
    CachedResponse r = respond(200);
    assertEquals(CachedResponse.FOREVER, r.lifetimeMillis());
    assertEquals(CachedResponse.FOREVER, r.retainMillis(clock.now()));
    clock.advance(Duration.ofDays(3650));
    assertTrue(r.fresh(clock.now()));
    assertEquals(Reuse.FRESH, r.reuse(NONE, clock.now()));
  }

  @Test
  void defaultTtl_isTheLifetimeWithoutExplicitFreshness() {
    CachePolicy policy = builder().defaultTtl(Duration.ofSeconds(60)).negativeTtl(Duration.ofSeconds(5)).build();
    assertEquals(seconds(60), respond(policy, 200).lifetimeMillis());
    assertEquals(seconds(10), respond(policy, 200, "Cache-Control", "max-age=10").lifetimeMillis(),
        "explicit freshness wins");
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(ints = {404, 405, 410, 414, 501})
  void negativeTtl_zeroMeansNotStoredOtherwiseItIsTheLifetime(int status) {
    assertFalse(respond(builder().defaultTtl(Duration.ofSeconds(60)).build(), status).storable());

    CachePolicy policy = builder().defaultTtl(Duration.ofSeconds(1)).negativeTtl(Duration.ofSeconds(5)).build();
    CachedResponse r = respond(policy, status);
    assertTrue(r.storable());
    assertEquals(seconds(5), r.lifetimeMillis(), "negative-ttl is its own setting, longer than default-ttl here");
    assertEquals(seconds(60), respond(policy, status, "Cache-Control", "max-age=60").lifetimeMillis());
    assertEquals(CachedResponse.FOREVER, respond(builder().negativeTtl(Duration.ofSeconds(5)).build(), 200)
        .lifetimeMillis(), "negative-ttl does not shorten a 200");
  }

  @Test
  void negativeTtlZero_stillStoresANegativeAnswerWithExplicitFreshness() {
    assertTrue(respond(404, "Cache-Control", "max-age=60").storable());
  }

  /** min-ttl | max-ttl | Cache-Control (NULL = none) | lifetime in seconds (-1 = forever). */
  @ParameterizedTest(name = "[{index}] [{0}, {1}] Cache-Control: {2} -> {3}")
  @CsvSource(nullValues = "NULL", textBlock = """
      60, 0,    max-age=5,    60
      60, 600,  max-age=3600, 600
      60, 600,  max-age=120,  120
      0,  600,  NULL,         600
      0,  0,    NULL,         -1
      60, 0,    s-maxage=0,   60
      0,  600,  s-maxage=900, 600
      """)
  void ttlBounds_clampEveryComputedLifetime(long min, long max, String cacheControl, long lifetime) {
    CachePolicy policy = builder().ttlBounds(Duration.ofSeconds(min), Duration.ofSeconds(max)).build();
    CachedResponse r = cacheControl == null ? respond(policy, 200) : respond(policy, 200, "Cache-Control", cacheControl);
    assertEquals(lifetime < 0 ? CachedResponse.FOREVER : seconds(lifetime), r.lifetimeMillis());
  }

  @Test
  void ttlBounds_doNotApplyToNoCache() {
    CachePolicy policy = builder().ttlBounds(Duration.ofSeconds(60), Duration.ZERO).build();
    CachedResponse r = respond(policy, 200, "Cache-Control", "no-cache", "ETag", "\"v\"");
    assertEquals(0, r.lifetimeMillis());
    assertEquals(Reuse.REVALIDATE, r.reuse(NONE, clock.now()));
  }

  @Test
  void builderRejectsBadSettingsNamingThem() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> CachePolicy.builder().defaultTtl(Duration.ofSeconds(-1)));
    assertTrue(e.getMessage().contains("defaultTtl") && e.getMessage().contains("PT-1S"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> CachePolicy.builder().ttlBounds(Duration.ofSeconds(60), Duration.ofSeconds(10)));
    assertTrue(e.getMessage().contains("PT1M") && e.getMessage().contains("PT10S"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> CachePolicy.builder().negativeTtl(null));
    assertThrows(IllegalArgumentException.class,
        () -> CachePolicy.builder().staleDefaults(Duration.ZERO, Duration.ofSeconds(-1)));
    assertThrows(NullPointerException.class, () -> CachePolicy.builder().clock(null));
  }

  // ---- request directives (§5.2.1) ----------------------------------------------------------------

  @Test
  void rfc9111_5_2_1_4_requestNoCacheRevalidatesAFreshResponse() {
    CachedResponse r = respond(200, "Cache-Control", "max-age=3600");
    assertEquals(Reuse.REVALIDATE, r.reuse(CacheControl.parse("no-cache"), clock.now()));
    assertEquals(Reuse.REVALIDATE, respond(200).reuse(CacheControl.parse("no-cache"), clock.now()), "forever too");
  }

  @Test
  void rfc9111_5_2_1_1_requestMaxAgeZeroRevalidates() {
    CachedResponse r = respond(200, "Cache-Control", "max-age=3600");
    clock.advanceSeconds(1);
    assertEquals(Reuse.REVALIDATE, r.reuse(CacheControl.parse("max-age=0"), clock.now()));
    assertEquals(Reuse.REVALIDATE, respond(200, "Date", clock.httpDate(-1)).reuse(CacheControl.parse("max-age=0"),
        clock.now()), "a forever-fresh response too");
  }

  /** seconds resident | request max-age | reuse. */
  @ParameterizedTest(name = "[{index}] age {0} s, max-age={1} -> {2}")
  @CsvSource(textBlock = """
      10, 30, FRESH
      30, 30, FRESH
      31, 30, REVALIDATE
      31, 3600, FRESH
      """)
  void rfc9111_5_2_1_1_requestMaxAgeBoundsTheAge(long age, long maxAge, Reuse reuse) {
    CachedResponse r = respond(200, "Cache-Control", "max-age=60");
    clock.advanceSeconds(age);
    assertEquals(reuse, r.reuse(CacheControl.parse("max-age=" + maxAge), clock.now()));
  }

  @Test
  void rfc9111_5_2_1_1_requestMaxAgeDoesNotMakeAStaleResponseFresh() {
    CachedResponse r = respond(200, "Cache-Control", "max-age=60", "ETag", "\"v\"");
    clock.advanceSeconds(90);
    assertEquals(Reuse.REVALIDATE, r.reuse(CacheControl.parse("max-age=3600"), clock.now()));
  }

  /** seconds resident (lifetime 60) | request min-fresh | reuse. */
  @ParameterizedTest(name = "[{index}] age {0} s, min-fresh={1} -> {2}")
  @CsvSource(textBlock = """
      0,  60, FRESH
      0,  61, REVALIDATE
      40, 20, FRESH
      41, 20, REVALIDATE
      """)
  void rfc9111_5_2_1_3_requestMinFreshNeedsThatMuchFreshnessLeft(long age, long minFresh, Reuse reuse) {
    CachedResponse r = respond(200, "Cache-Control", "max-age=60");
    clock.advanceSeconds(age);
    assertEquals(reuse, r.reuse(CacheControl.parse("min-fresh=" + minFresh), clock.now()));
  }

  /**
   * Regression: a response without end (default-ttl 0) had {@code Long.MIN_VALUE} staleness, whose
   * negation overflowed: every request with {@code min-fresh} revalidated — a full load, as the
   * response has no validator — on every request.
   */
  @Test
  void rfc9111_5_2_1_3_minFreshOnAForeverFreshResponseIsFresh() {
    CachedResponse r = respond(200);
    clock.advance(Duration.ofDays(365));
    assertEquals(Reuse.FRESH, r.reuse(CacheControl.parse("min-fresh=3600"), clock.now()));
  }

  /** seconds resident (lifetime 60) | request max-stale (NULL = no argument) | reuse. */
  @ParameterizedTest(name = "[{index}] age {0} s, max-stale={1} -> {2}")
  @CsvSource(nullValues = "NULL", textBlock = """
      70,   30,   FRESH
      90,   30,   FRESH
      91,   30,   REVALIDATE
      9999, NULL, FRESH
      """)
  void rfc9111_5_2_1_2_requestMaxStaleAcceptsThatMuchStaleness(long age, String maxStale, Reuse reuse) {
    CachedResponse r = respond(200, "Cache-Control", "max-age=60", "ETag", "\"v\"");
    clock.advanceSeconds(age);
    assertEquals(reuse, r.reuse(CacheControl.parse(maxStale == null ? "max-stale" : "max-stale=" + maxStale),
        clock.now()));
  }

  // ---- response directives that forbid stale answers (§4.2.4, §5.2.2) -------------------------------

  @ParameterizedTest(name = "[{index}] Cache-Control: {0}")
  @ValueSource(strings = {"max-age=60, must-revalidate", "max-age=60, proxy-revalidate",
      "max-age=60, must-revalidate, stale-while-revalidate=600, stale-if-error=600"})
  void rfc9111_5_2_2_2_mustRevalidateForbidsStale(String cacheControl) {
    CachePolicy policy = builder().staleDefaults(Duration.ofSeconds(600), Duration.ofSeconds(600)).build();
    CachedResponse r = respond(policy, 200, "Cache-Control", cacheControl, "ETag", "\"v\"");
    clock.advanceSeconds(61);
    assertFalse(r.mayServeStale());
    assertEquals(Reuse.REVALIDATE, r.reuse(NONE, clock.now()));
    assertEquals(Reuse.REVALIDATE, r.reuse(CacheControl.parse("max-stale"), clock.now()), "not even for max-stale");
    assertFalse(r.staleIfError(clock.now()));
  }

  @Test
  void rfc9111_5_2_2_10_sMaxageForbidsStale() {
    CachePolicy policy = builder().staleDefaults(Duration.ofSeconds(600), Duration.ofSeconds(600)).build();
    CachedResponse r = respond(policy, 200, "Cache-Control", "s-maxage=60", "ETag", "\"v\"");
    clock.advanceSeconds(61);
    assertFalse(r.mayServeStale(), "s-maxage carries proxy-revalidate: the operator's stale defaults do not apply");
    assertEquals(Reuse.REVALIDATE, r.reuse(NONE, clock.now()));
    assertEquals(Reuse.REVALIDATE, r.reuse(CacheControl.parse("max-stale=3600"), clock.now()));
    assertFalse(r.staleIfError(clock.now()));
  }

  // ---- stale serving (RFC 5861) -----------------------------------------------------------------

  @Test
  void rfc5861_3_staleWhileRevalidateAnswersStaleWithinTheWindow() {
    CachedResponse r = respond(200, "Cache-Control", "max-age=60, stale-while-revalidate=30", "ETag", "\"v\"");
    clock.advanceSeconds(60);
    assertEquals(Reuse.STALE_WHILE_REVALIDATE, r.reuse(NONE, clock.now()));
    clock.advanceSeconds(30);
    assertEquals(Reuse.STALE_WHILE_REVALIDATE, r.reuse(NONE, clock.now()));
    clock.advanceSeconds(1);
    assertEquals(Reuse.REVALIDATE, r.reuse(NONE, clock.now()));
  }

  @Test
  void rfc5861_3_staleWhileRevalidateFromTheOperatorsDefault() {
    CachePolicy policy = builder().staleDefaults(Duration.ofSeconds(30), Duration.ZERO).build();
    CachedResponse r = respond(policy, 200, "Cache-Control", "max-age=60");
    assertEquals(seconds(30), r.staleWhileRevalidateMillis());
    assertEquals(seconds(90), r.retainMillis(clock.now()), "kept while it may still be answered");
    clock.advanceSeconds(75);
    assertEquals(Reuse.STALE_WHILE_REVALIDATE, r.reuse(NONE, clock.now()));
    CachedResponse own = respond(policy, 200, "Cache-Control", "max-age=60, stale-while-revalidate=5");
    assertEquals(seconds(5), own.staleWhileRevalidateMillis(), "the origin's own window wins");
  }

  @Test
  void rfc5861_4_staleIfErrorAnswersStaleWithinTheWindow() {
    CachedResponse r = respond(200, "Cache-Control", "max-age=60, stale-if-error=300");
    assertEquals(seconds(360), r.retainMillis(clock.now()));
    clock.advanceSeconds(61);
    assertEquals(Reuse.REVALIDATE, r.reuse(NONE, clock.now()), "stale-if-error is no reason to skip revalidation");
    assertTrue(r.staleIfError(clock.now()));
    clock.advanceSeconds(299);
    assertTrue(r.staleIfError(clock.now()), "300 s past its lifetime");
    clock.advanceSeconds(1);
    assertFalse(r.staleIfError(clock.now()));

    CachePolicy policy = builder().staleDefaults(Duration.ZERO, Duration.ofSeconds(300)).build();
    CachedResponse byDefault = respond(policy, 200, "Cache-Control", "max-age=60");
    clock.advanceSeconds(61);
    assertTrue(byDefault.staleIfError(clock.now()));
  }

  // ---- Authorization (§3.5) ----------------------------------------------------------------------

  /** Cache-Control (NULL = none) | may answer a request with Authorization. */
  @ParameterizedTest(name = "[{index}] Cache-Control: {0} -> {1}")
  @CsvSource(nullValues = "NULL", textBlock = """
      NULL,                        false
      max-age=60,                  false
      public,                      true
      s-maxage=60,                 true
      'max-age=60, must-revalidate', true
      proxy-revalidate,            false
      """)
  void rfc9111_3_5_authorizationOnlyWithPublicSMaxageOrMustRevalidate(String cacheControl, boolean reuse) {
    CachedResponse r = cacheControl == null ? respond(200) : respond(200, "Cache-Control", cacheControl);
    assertEquals(reuse, r.authorizedReuse());
  }

  // ---- 304 (§4.3.4) ------------------------------------------------------------------------------

  @Test
  void rfc9111_4_3_4_notModifiedRefreshesHeadersAndKeepsTheBody() {
    CachePolicy policy = defaults();
    CachedResponse stored = policy.response(200, List.of("Content-Type", "image/png", "ETag", "\"v1\"",
        "Cache-Control", "max-age=60", "Date", clock.httpDate(0), "X-Origin", "old", "Content-Length", "9"),
        BODY, clock.now(), clock.now(), null);
    clock.advanceSeconds(120);
    assertFalse(stored.fresh(clock.now()));

    long sent = clock.now();
    clock.advanceSeconds(1);
    CachedResponse refreshed = policy.refreshed(stored, List.of("Cache-Control", "max-age=600",
        "Date", clock.httpDate(0), "X-Origin", "new", "X-Added", "1", "Content-Length", "0", "Age", "3"),
        sent, clock.now());

    assertEquals(200, refreshed.status());
    assertArrayEquals(BODY, refreshed.bodyBytes(), "the stored body is kept");
    assertEquals("9", refreshed.contentLength());
    assertEquals("9", refreshed.header("Content-Length"), "a 304's Content-Length describes no body here");
    assertEquals("new", refreshed.header("X-Origin"));
    assertEquals("1", refreshed.header("X-Added"));
    assertEquals("image/png", refreshed.header("Content-Type"));
    assertEquals("\"v1\"", refreshed.etag());
    assertEquals(clock.httpDate(0), refreshed.header("Date"));
    assertNull(refreshed.header("Age"));
    assertEquals(seconds(600), refreshed.lifetimeMillis(), "freshness computed anew from the 304's headers");
    assertEquals(seconds(4), refreshed.ageMillis(clock.now()), "its Age plus the round trip");
    assertTrue(refreshed.fresh(clock.now()));
    assertTrue(refreshed.storable());
    assertEquals(1, count(refreshed, "Cache-Control"));
  }

  /**
   * Regression: a 304 without Date left the stored Date in place, so the refreshed entry's apparent
   * age was the time since the first load and it was stale again at once: revalidated on every
   * request. A recipient takes a message without Date as dated when received (RFC 9110 §6.6.1).
   */
  @Test
  void rfc9111_4_3_4_notModifiedWithoutDateRefreshesFreshness() {
    CachePolicy policy = defaults();
    CachedResponse stored = respond(policy, 200, "ETag", "\"v1\"", "Cache-Control", "max-age=60",
        "Date", clock.httpDate(0));
    clock.advanceSeconds(3600);
    CachedResponse refreshed = policy.refreshed(stored, List.of("ETag", "\"v1\""), clock.now(), clock.now());
    assertTrue(refreshed.fresh(clock.now()), "age " + refreshed.ageSeconds(clock.now()));
    assertEquals(0, refreshed.ageSeconds(clock.now()));
    assertEquals(clock.httpDate(0), refreshed.header("Date"));
  }

  private static int count(CachedResponse r, String name) {
    int n = 0;
    for (int i = 0; i < r.headerCount(); i++) {
      n += r.headerName(i).equalsIgnoreCase(name) ? 1 : 0;
    }
    return n;
  }

  @Test
  void headersMustAlternateAndStatusMustBeInRange() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> respond(99));
    assertTrue(e.getMessage().contains("99"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> respond(600));
    e = assertThrows(IllegalArgumentException.class,
        () -> defaults().response(200, Arrays.asList("Content-Type"), BODY));
    assertTrue(e.getMessage().contains("1"), e.getMessage());
  }
}
