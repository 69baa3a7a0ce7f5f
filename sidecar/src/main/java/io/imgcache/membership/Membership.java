package io.imgcache.membership;

import java.time.Duration;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/** A source of the cluster's member list (advertised URLs, this node included). */
public interface Membership extends AutoCloseable {
  /**
   * Starts tracking members. {@code listener} gets every complete member set, in order, on the
   * membership's own thread; it must not block. Returns without waiting for the first set.
   */
  void start(Consumer<Set<String>> listener);

  /**
   * Follows the bans stored with the member list, if this membership keeps any (etcd does, under
   * {@code prefix}): {@code listener} gets (ban id, key prefix) for every ban, at least once, on the
   * membership's thread; it must not block. Call before {@link #start}. Static membership: nothing.
   */
  default void followBans(String prefix, BiConsumer<String, String> listener) {}

  /** Stores a ban for every member to apply, for {@code lifetime}, if this membership can; never blocks. */
  default void publishBan(String id, String keyPrefix, Duration lifetime) {}

  /** Whether the member list has been loaded at least once (and so stays true). */
  boolean ready();

  /** Takes this node out of the list others see (e.g. revokes its lease). Blocks briefly at most. */
  void deregister();

  /** Stops tracking and releases every resource. Blocks briefly at most; idempotent. */
  @Override
  void close();
}
