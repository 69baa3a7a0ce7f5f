package io.imgcache.membership;

import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/** {@code membership = static}: the configured {@code peers.static} list plus self, fixed for the node's life. */
public final class StaticMembership implements Membership {
  private final Set<String> members;

  public StaticMembership(String self, Iterable<String> peers) {
    TreeSet<String> all = new TreeSet<>();
    peers.forEach(all::add);
    all.add(self);
    this.members = Set.copyOf(all);
  }

  @Override
  public void start(Consumer<Set<String>> listener) {
    listener.accept(members);
  }

  @Override
  public boolean ready() {
    return true;
  }

  @Override
  public void deregister() {}

  @Override
  public void close() {}
}
