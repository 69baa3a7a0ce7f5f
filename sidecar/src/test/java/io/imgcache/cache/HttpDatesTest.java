package io.imgcache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** RFC 9110 §5.6.7: the three HTTP-date forms, and the near misses that make an Expires invalid. */
class HttpDatesTest {
  private static final long INVALID = -1;

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "Sun, 06 Nov 1994 08:49:37 GMT   | 784111777000",
      "Sunday, 06-Nov-94 08:49:37 GMT  | 784111777000",
      "Sun Nov  6 08:49:37 1994        | 784111777000",
      "Sun, 06 Nov 1994 08:49:37 UTC   | -1",
      "Sun, 06 Nov 1994 08:49:37 +1000 | -1",
      "Sun 06 Nov 1994 08:49:37 GMT    | -1",
      "Sun, 06-Nov-1994 08:49:37 GMT   | -1",
      "Sun, 06 Nov 1994 8:49:37 GMT    | -1",
      "Sun, 06  Nov 1994 08:49:37 GMT  | -1",
      "Sun, 06 Nov 94 08:49:37 GMT     | -1",
      "Sun, 31 Feb 1994 08:49:37 GMT   | -1",
      "0                               | -1",
      "Thu, 01 Jan 1970 00:00:00 GMT   | 0",
      "Thu, 29 Feb 1996 00:00:00 GMT   | 825552000000",
      "Thu, 03 Dec 2026 23:59:59 GMT   | 1796342399000",
      "Sun, 06 Nov 1994 08:49:60 GMT   | -1",
      "Sun, 06 Nov 1994 24:00:00 GMT   | -1",
      "Sun, 06 Nov 1994 08:60:37 GMT   | -1",
      "Sun, 00 Nov 1994 08:49:37 GMT   | -1",
      "Sun, 29 Feb 1995 08:49:37 GMT   | -1",
      "Xyz, 06 Nov 1994 08:49:37 GMT   | -1",
      "sun, 06 Nov 1994 08:49:37 GMT   | -1",
      "Sun, 06 nov 1994 08:49:37 GMT   | -1",
      "Sun, 06 Nox 1994 08:49:37 GMT   | -1",
      "Sun, 0a Nov 1994 08:49:37 GMT   | -1",
      "Sun, 06 Nov 19x4 08:49:37 GMT   | -1",
      "Sun; 06 Nov 1994 08:49:37 GMT   | -1",
      "Sun, 06 Nov 1994 08.49:37 GMT   | -1",
      "Sun, 06 Nov 1994 08:49:37 gmt   | -1",
      "Sun,_06 Nov 1994 08:49:37 GMT   | -1",
      "Sun, 06 Nov 1994T08:49:37 GMT   | -1",
      "Sun, 06 Nov 1994 08:49:37 GMT.  | -1",
      "Sun, 06 Nov ١٩٩٤ 08:49:37 GMT   | -1",
      "Wednesday, 06-Nov-94 08:49:37 GMT | 784111777000",
      "Sun Nov 31 08:49:37 1994        | -1",
  })
  void rfc9110_5_6_7_httpDates(String value, long epochMillis) {
    assertEquals(epochMillis, HttpDates.parse(value.strip(), INVALID), value);
  }
}
