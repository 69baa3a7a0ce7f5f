package io.imgcache.cache;

import static io.imgcache.cache.CacheControl.ABSENT;
import static io.imgcache.cache.CacheControl.ANY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** RFC 9111 §5.2: parsing Cache-Control, request and response directives alike. */
class CacheControlTest {

  /** The flags a directive list sets, as a string: which of them are on, in record order. */
  private static String flags(CacheControl cc) {
    StringBuilder s = new StringBuilder();
    append(s, cc.noStore(), "no-store");
    append(s, cc.noCache(), "no-cache");
    append(s, cc.isPrivate(), "private");
    append(s, cc.isPublic(), "public");
    append(s, cc.mustRevalidate(), "must-revalidate");
    append(s, cc.proxyRevalidate(), "proxy-revalidate");
    append(s, cc.onlyIfCached(), "only-if-cached");
    return s.toString();
  }

  private static void append(StringBuilder s, boolean on, String name) {
    if (on) {
      s.append(s.length() > 0 ? " " : "").append(name);
    }
  }

  /**
   * header value | flags set | max-age | s-maxage | max-stale | min-fresh | stale-while-revalidate |
   * stale-if-error (-1 = absent, ANY = max-stale without argument).
   */
  @ParameterizedTest(name = "[{index}] Cache-Control: {0}")
  @CsvSource(delimiter = '|', emptyValue = "", textBlock = """
      'max-age=60'                           |                         | 60 | -1 | -1  | -1 | -1 | -1
      'MAX-AGE=60, No-Store'                 | no-store                | 60 | -1 | -1  | -1 | -1 | -1
      'max-age="60"'                         |                         | 60 | -1 | -1  | -1 | -1 | -1
      'max-age = 60'                         |                         | 60 | -1 | -1  | -1 | -1 | -1
      'max-age=60, max-age=10'               |                         | 60 | -1 | -1  | -1 | -1 | -1
      'max-age=abc'                          |                         | 0  | -1 | -1  | -1 | -1 | -1
      'max-age=-5'                           |                         | 0  | -1 | -1  | -1 | -1 | -1
      'max-age=1.5'                          |                         | 0  | -1 | -1  | -1 | -1 | -1
      'max-age='                             |                         | 0  | -1 | -1  | -1 | -1 | -1
      'max-age'                              |                         | 0  | -1 | -1  | -1 | -1 | -1
      'max-age=abc, max-age=60'              |                         | 0  | -1 | -1  | -1 | -1 | -1
      'max-age=99999999999999999999'         |                         | 2147483647 | -1 | -1 | -1 | -1 | -1
      's-maxage=30, max-age=60'              |                         | 60 | 30 | -1  | -1 | -1 | -1
      's-maxage=x'                           |                         | -1 | 0  | -1  | -1 | -1 | -1
      'private="Set-Cookie, X-Foo", max-age=5' | private               | 5  | -1 | -1  | -1 | -1 | -1
      'no-cache="Set-Cookie", public'        | no-cache public         | -1 | -1 | -1  | -1 | -1 | -1
      'public,,, ,must-revalidate'           | public must-revalidate  | -1 | -1 | -1  | -1 | -1 | -1
      '  proxy-revalidate  '                 | proxy-revalidate        | -1 | -1 | -1  | -1 | -1 | -1
      'max-stale'                            |                         | -1 | -1 | ANY | -1 | -1 | -1
      'max-stale=30, min-fresh=10'           |                         | -1 | -1 | 30  | 10 | -1 | -1
      'max-stale=soon'                       |                         | -1 | -1 | -1  | -1 | -1 | -1
      'min-fresh=x'                          |                         | -1 | -1 | -1  | -1 | -1 | -1
      'only-if-cached'                       | only-if-cached          | -1 | -1 | -1  | -1 | -1 | -1
      'stale-while-revalidate=30, stale-if-error=600' |                | -1 | -1 | -1  | -1 | 30 | 600
      'stale-while-revalidate=30.0'          |                         | -1 | -1 | -1  | -1 | -1 | -1
      'community="UCI", immutable, foo=bar'  |                         | -1 | -1 | -1  | -1 | -1 | -1
      'NO-STORE'                             | no-store                | -1 | -1 | -1  | -1 | -1 | -1
      'no-transform, private, no-cache, no-store' | no-store no-cache private | -1 | -1 | -1 | -1 | -1 | -1
      """)
  void rfc9111_5_2_parsingTable(String value, String flags, long maxAge, long sMaxAge, String maxStale,
      long minFresh, long swr, long sie) {
    CacheControl cc = CacheControl.parse(value);
    assertEquals(flags == null ? "" : flags, flags(cc), "flags");
    assertEquals(maxAge, cc.maxAge(), "max-age");
    assertEquals(sMaxAge, cc.sMaxAge(), "s-maxage");
    assertEquals(maxStale.equals("ANY") ? ANY : Long.parseLong(maxStale), cc.maxStale(), "max-stale");
    assertEquals(minFresh, cc.minFresh(), "min-fresh");
    assertEquals(swr, cc.staleWhileRevalidate(), "stale-while-revalidate");
    assertEquals(sie, cc.staleIfError(), "stale-if-error");
  }

  @Test
  void rfc9110_5_3_severalFieldLinesAreOneList() {
    CacheControl cc = CacheControl.parse(List.of("max-age=60", "no-store", "max-age=10"));
    assertEquals(60, cc.maxAge(), "the first max-age counts, across field lines too");
    assertEquals(true, cc.noStore());
  }

  @Test
  void absentOrEmptyHeaderIsNone() {
    assertSame(CacheControl.NONE, CacheControl.parse((String) null));
    assertSame(CacheControl.NONE, CacheControl.parse(""));
    assertSame(CacheControl.NONE, CacheControl.parse((List<String>) null));
    assertSame(CacheControl.NONE, CacheControl.parse(List.of()));
    assertEquals(CacheControl.NONE, CacheControl.parse(" , ,"));
    assertEquals(ABSENT, CacheControl.NONE.maxAge());
  }

  @Test
  void rfc9111_1_2_2_deltaSecondsDigitsOnlySaturating() {
    for (String bad : Arrays.asList(null, "", " 1", "+1", "-1", "1e3", "0x10")) {
      assertEquals(ABSENT, CacheControl.deltaSeconds(bad), String.valueOf(bad));
    }
    assertEquals(0, CacheControl.deltaSeconds("0"));
    assertEquals(7, CacheControl.deltaSeconds("007"));
    assertEquals(2147483648L - 1, CacheControl.deltaSeconds("2147483648"));
  }
}
