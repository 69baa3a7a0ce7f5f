package io.imgcache.cache;

import java.time.DateTimeException;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Strict HTTP-date parsing (RFC 9110 §5.6.7): IMF-fixdate, and the obsolete RFC 850 and asctime
 * forms a recipient must accept. Anything else — "UTC" for "GMT", a missing comma, dashes in an
 * IMF-fixdate, a one-digit hour, doubled spaces — is invalid, which for Expires means stale.
 * Lenient parsers (Undertow's, Java's RFC_1123) accept those and keep such responses fresh.
 */
final class HttpDates {
  private static final List<String> MONTHS =
      List.of("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec");
  private static final String TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
  private static final String MONTH = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
  private static final Pattern IMF_FIXDATE =
      Pattern.compile("(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) " + MONTH + " (\\d{4}) " + TIME + " GMT");
  private static final Pattern RFC_850 = Pattern.compile(
      "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-" + MONTH + "-(\\d{2}) " + TIME + " GMT");
  private static final Pattern ASCTIME =
      Pattern.compile("(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) " + MONTH + " ([ \\d]\\d) " + TIME + " (\\d{4})");

  private HttpDates() {}

  /** {@code value} as epoch milliseconds, or {@code otherwise} when it is not an HTTP-date. */
  static long parse(String value, long otherwise) {
    Matcher m = IMF_FIXDATE.matcher(value);
    if (m.matches()) {
      return at(Integer.parseInt(m.group(3)), m.group(2), m.group(1), m, 4, otherwise);
    }
    m = RFC_850.matcher(value);
    if (m.matches()) {
      int yy = Integer.parseInt(m.group(3));
      // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past century.
      int year = 2000 + yy > java.time.Year.now(ZoneOffset.UTC).getValue() + 50 ? 1900 + yy : 2000 + yy;
      return at(year, m.group(2), m.group(1), m, 4, otherwise);
    }
    m = ASCTIME.matcher(value);
    if (m.matches()) {
      return at(Integer.parseInt(m.group(6)), m.group(1), m.group(2).trim(), m, 3, otherwise);
    }
    return otherwise;
  }

  private static long at(int year, String month, String day, Matcher m, int timeGroup, long otherwise) {
    try {
      return LocalDateTime.of(year, MONTHS.indexOf(month) + 1, Integer.parseInt(day),
          Integer.parseInt(m.group(timeGroup)), Integer.parseInt(m.group(timeGroup + 1)),
          Integer.parseInt(m.group(timeGroup + 2))).toInstant(ZoneOffset.UTC).toEpochMilli();
    } catch (DateTimeException e) {
      return otherwise; // e.g. 31 Feb, 25:00
    }
  }
}
