package io.imgcache.group;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The bans a group applies (Varnish's ban list, for one node): each names a key prefix and the
 * moment it was applied here, and matches every response whose request went out before that
 * moment — so that a copy stored before the ban is never served again, and a load in flight when
 * it came is not stored. The list is an immutable array published through one reference: the hit
 * path reads it once and, with no ban active, pays nothing more.
 *
 * <p>A ban stays active until the walk that removes its stored copies is done and every load that
 * could have started before it has ended ({@code retention}, the group's deadline); later copies
 * are newer than the ban by construction. Thread-safe.
 */
final class Bans {
  /** One ban: keys starting with {@code prefix}, requested before {@code at}, kept until {@code until}. */
  record Ban(String prefix, long at, long until) {
    boolean matches(String key, long requestTime) {
      return requestTime <= at && key.startsWith(prefix);
    }
  }

  private static final Ban[] NONE = new Ban[0];

  private final AtomicReference<Ban[]> active = new AtomicReference<>(NONE);
  private final long retentionMillis;

  Bans(long retentionMillis) {
    this.retentionMillis = retentionMillis;
  }

  /** Adds a ban of {@code prefix} at {@code now}, dropping those that have expired. */
  Ban add(String prefix, long now) {
    Ban ban = new Ban(prefix, now, now + retentionMillis);
    active.updateAndGet(bans -> {
      Ban[] kept = Arrays.stream(bans).filter(b -> b.until() > now).toArray(Ban[]::new);
      Ban[] next = Arrays.copyOf(kept, kept.length + 1);
      next[kept.length] = ban;
      return next;
    });
    return ban;
  }

  /** Whether a response for {@code key} whose request went out at {@code requestTime} is banned. */
  boolean banned(String key, long requestTime) {
    Ban[] bans = active.get();
    if (bans.length == 0) {
      return false;
    }
    for (Ban ban : bans) {
      if (ban.matches(key, requestTime)) {
        return true;
      }
    }
    return false;
  }

  /** Forgets bans whose retention ended before {@code now}. */
  void expire(long now) {
    Ban[] bans = active.get();
    if (bans.length > 0 && Arrays.stream(bans).anyMatch(b -> b.until() <= now)) {
      active.updateAndGet(current -> Arrays.stream(current).filter(b -> b.until() > now).toArray(Ban[]::new));
    }
  }

  int size() {
    return active.get().length;
  }
}
