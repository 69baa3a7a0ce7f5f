package io.imgcache.membership;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * How to start an {@link EtcdCluster}: {@code EtcdOptions.of(3).withAuth().withTls()}. Immutable.
 *
 * @param members number of etcd members, 1 to 5
 * @param auth after start, add user root with a random password and run {@code auth enable}
 * @param tls serve clients over https with client-certificate auth (peers stay on http)
 * @param extraArgs appended to every member's etcd command line
 * @param etcd the etcd binary; {@link EtcdCluster#ETCD} except in the fixture's own tests
 * @param etcdctl the etcdctl binary; {@link EtcdCluster#ETCDCTL} except in the fixture's own tests
 */
public record EtcdOptions(int members, boolean auth, boolean tls, List<String> extraArgs, Path etcd,
    Path etcdctl) {
  public EtcdOptions {
    checkArgument(members >= 1 && members <= 5, "members must be 1 to 5, was %s", members);
    extraArgs = List.copyOf(extraArgs);
    Objects.requireNonNull(etcd, "etcd");
    Objects.requireNonNull(etcdctl, "etcdctl");
  }

  /** {@code members} plain-http members, no auth, the Debian binaries. */
  public static EtcdOptions of(int members) {
    return new EtcdOptions(members, false, false, List.of(), EtcdCluster.ETCD, EtcdCluster.ETCDCTL);
  }

  public EtcdOptions withAuth() {
    return new EtcdOptions(members, true, tls, extraArgs, etcd, etcdctl);
  }

  public EtcdOptions withTls() {
    return new EtcdOptions(members, auth, true, extraArgs, etcd, etcdctl);
  }

  /** These options with {@code args} appended to etcd's command line ("--snapshot-count=100"). */
  public EtcdOptions withExtraArgs(String... args) {
    return new EtcdOptions(members, auth, tls,
        Stream.concat(extraArgs.stream(), Arrays.stream(args)).toList(), etcd, etcdctl);
  }

  EtcdOptions withBinaries(Path etcd, Path etcdctl) {
    return new EtcdOptions(members, auth, tls, extraArgs, etcd, etcdctl);
  }
}
