package io.imgcache.membership;

import io.etcd.jetcd.Client;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Issue 16's etcd figures: N real {@link EtcdMembership}s (registration under a kept-alive lease,
 * list on start, one watch each) against one etcd on loopback, sharing a few jetcd clients (gRPC
 * multiplexes their calls and watches; etcd still sees N leases, N keep-alives and N watchers).
 * Measures the start-up (every member lists, then registers, until all see all N), the fan-out of
 * one change (a member deregisters: until every other has seen it), and etcd's load while idle
 * (keep-alives per second, etcd CPU from /proc). Run by {@code bench/etcd-sim}; not a unit test.
 */
public final class EtcdScaleSim {
  private static final int CLIENTS = 4;

  private EtcdScaleSim() {}

  public static void main(String[] args) throws Exception {
    URI endpoint = URI.create(args[0]);
    long etcdPid = Long.parseLong(args[1]);
    int n = Integer.parseInt(args[2]);
    Duration ttl = Duration.ofSeconds(10);
    List<Client> clients = new ArrayList<>();
    for (int i = 0; i < CLIENTS; i++) {
      clients.add(Client.builder().endpoints(endpoint).build());
    }
    List<EtcdMembership> members = new ArrayList<>();
    List<Set<String>> seen = new ArrayList<>();
    try {
      long t = System.nanoTime();
      long cpu = etcdCpuTicks(etcdPid);
      for (int i = 0; i < n; i++) {
        Client shared = clients.get(i % CLIENTS);
        EtcdMembership m = new EtcdMembership(unclosable(shared), "http://10.0." + (i / 250) + "." + (i % 250 + 1)
            + ":9000", "/imgcache2/sim/", ttl, System::nanoTime, new EtcdMembership.EtcdEvents() {});
        Set<String> view = ConcurrentHashMap.newKeySet();
        m.start(s -> {
          view.clear();
          view.addAll(s);
        });
        members.add(m);
        seen.add(view);
      }
      await(() -> seen.stream().allMatch(v -> v.size() == n), Duration.ofMinutes(5));
      long startup = System.nanoTime() - t;
      long startupCpu = etcdCpuTicks(etcdPid) - cpu;

      long idleCpu = etcdCpuTicks(etcdPid);
      long idleStart = System.nanoTime();
      TimeUnit.SECONDS.sleep(20); // a measuring window, not a wait for an event
      double idleSeconds = (System.nanoTime() - idleStart) / 1e9;
      double idleCpuShare = (etcdCpuTicks(etcdPid) - idleCpu) / 100.0 / idleSeconds;

      EtcdMembership leaving = members.get(n - 1);
      t = System.nanoTime();
      leaving.deregister();
      await(() -> seen.subList(0, n - 1).stream().allMatch(v -> v.size() == n - 1), Duration.ofMinutes(2));
      long fanOut = System.nanoTime() - t;

      System.out.printf("| %,d | %,d ms | %.1f s | %,d ms | %.1f %% | ~%.0f/s |%n", n, startup / 1_000_000,
          startupCpu / 100.0, fanOut / 1_000_000, 100 * idleCpuShare, n / (ttl.toSeconds() / 3.0));
    } finally {
      members.forEach(EtcdMembership::close);
      clients.forEach(Client::close);
    }
  }

  /** {@code client} as a supplier of clients whose close() does nothing: the sim closes the shared ones. */
  private static Supplier<Client> unclosable(Client client) {
    Client proxy = (Client) Proxy.newProxyInstance(Client.class.getClassLoader(), new Class<?>[] {Client.class},
        (p, method, args) -> method.getName().equals("close") ? null : method.invoke(client, args));
    return () -> proxy;
  }

  /** utime + stime of {@code pid}, in clock ticks (1/100 s). */
  private static long etcdCpuTicks(long pid) throws Exception {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  private static void await(java.util.function.BooleanSupplier condition, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout);
      }
      TimeUnit.MILLISECONDS.sleep(10);
    }
  }
}
