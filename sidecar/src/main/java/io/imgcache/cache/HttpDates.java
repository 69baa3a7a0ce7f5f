package io.imgcache.cache;

import java.time.DateTimeException;
import java.time.LocalDate;
import java.time.Year;
import java.time.ZoneOffset;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Strict HTTP-date parsing (RFC 9110 §5.6.7): IMF-fixdate, and the obsolete RFC 850 and asctime
 * forms a recipient must accept. Anything else — "UTC" for "GMT", a missing comma, dashes in an
 * IMF-fixdate, a one-digit hour, doubled spaces — is invalid, which for Expires means stale.
 * Lenient parsers (Undertow's, Java's RFC_1123) accept those and keep such responses fresh.
 *
 * <p>IMF-fixdate, the form of nearly every date a response carries (Date, Last-Modified, Expires
 * on every response the cache stores), is read in place, character by character; the obsolete
 * forms by pattern.
 */
final class HttpDates {
  private static final String DAYS = "MonTueWedThuFriSatSun";
  private static final String MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";
  private static final String TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
  private static final String MONTH = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
  private static final Pattern RFC_850 = Pattern.compile(
      "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-" + MONTH + "-(\\d{2}) " + TIME + " GMT");
  private static final Pattern ASCTIME =
      Pattern.compile("(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) " + MONTH + " ([ \\d]\\d) " + TIME + " (\\d{4})");
  /** "Sun, 06 Nov 1994 08:49:37 GMT": every character in its place. */
  private static final int IMF_LENGTH = 29;

  private HttpDates() {}

  /** {@code value} as epoch milliseconds, or {@code otherwise} when it is not an HTTP-date. */
  static long parse(String value, long otherwise) {
    if (value.length() == IMF_LENGTH) {
      return imfFixdate(value, otherwise);
    }
    Matcher m = RFC_850.matcher(value);
    if (m.matches()) {
      int yy = Integer.parseInt(m.group(3));
      // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past century.
      int year = 2000 + yy > Year.now(ZoneOffset.UTC).getValue() + 50 ? 1900 + yy : 2000 + yy;
      return at(year, month(m.group(2), 0), Integer.parseInt(m.group(1)), m, 4, otherwise);
    }
    m = ASCTIME.matcher(value);
    if (m.matches()) {
      return at(Integer.parseInt(m.group(6)), month(m.group(1), 0), Integer.parseInt(m.group(2).trim()), m, 3,
          otherwise);
    }
    return otherwise;
  }

  /** IMF-fixdate: day-name ", " DD " " month " " YYYY " " HH ":" MM ":" SS " GMT". */
  private static long imfFixdate(String v, long otherwise) {
    boolean punctuation = v.charAt(3) == ',' && v.charAt(4) == ' ' && v.charAt(7) == ' ' && v.charAt(11) == ' '
        && v.charAt(16) == ' ' && v.charAt(19) == ':' && v.charAt(22) == ':' && v.startsWith(" GMT", 25);
    int day = digits(v, 5, 2);
    int month = month(v, 8);
    int year = digits(v, 12, 4);
    int hour = digits(v, 17, 2);
    int minute = digits(v, 20, 2);
    int second = digits(v, 23, 2);
    if (!punctuation || !dayName(v) || (day | month | year | hour | minute | second) < 0 || month == 0) {
      return otherwise;
    }
    return epochMillis(year, month, day, hour, minute, second, otherwise);
  }

  private static long at(int year, int month, int day, Matcher m, int timeGroup, long otherwise) {
    return epochMillis(year, month, day, Integer.parseInt(m.group(timeGroup)),
        Integer.parseInt(m.group(timeGroup + 1)), Integer.parseInt(m.group(timeGroup + 2)), otherwise);
  }

  /** The instant, or {@code otherwise} for a date or time that does not exist (31 Feb, 25:00, :60). */
  private static long epochMillis(int year, int month, int day, int hour, int minute, int second, long otherwise) {
    if (hour > 23 || minute > 59 || second > 59) {
      return otherwise;
    }
    try {
      long days = LocalDate.of(year, month, day).toEpochDay();
      return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1_000L;
    } catch (DateTimeException e) {
      return otherwise;
    }
  }

  /** The number in the {@code count} ASCII digits at {@code from}, or -1 if one is not a digit. */
  private static int digits(String v, int from, int count) {
    int n = 0;
    for (int i = from; i < from + count; i++) {
      char c = v.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      n = n * 10 + (c - '0');
    }
    return n;
  }

  /** 1-12 for the month name at {@code from} (case-sensitive, as the grammar has it), else 0. */
  private static int month(String v, int from) {
    for (int i = 0; i < 12; i++) {
      if (v.regionMatches(from, MONTHS, i * 3, 3)) {
        return i + 1;
      }
    }
    return 0;
  }

  private static boolean dayName(String v) {
    for (int i = 0; i < 7; i++) {
      if (v.regionMatches(0, DAYS, i * 3, 3)) {
        return true;
      }
    }
    return false;
  }
}
