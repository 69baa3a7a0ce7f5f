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
  })
  void rfc9110_5_6_7_httpDates(String value, long epochMillis) {
    assertEquals(epochMillis, HttpDates.parse(value.strip(), INVALID), value);
  }
}
