package io.imgcache.membership;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Issue 16's etcd figures: N members against one etcd on loopback, sharing a few jetcd clients
 * (gRPC multiplexes their calls and watches; etcd still sees N leases, N keep-alives and N
 * watchers). Run by {@code bench/etcd-sim}; not a unit test.
 *
 * <p>Up to {@link #FULL} of them, spread evenly over the start order, are real {@link
 * EtcdMembership}s; the others do to etcd what one does — list the prefix, grant a lease, put
 * their key under it, keep it alive, watch the prefix from the listed revision — and drop what
 * the watch brings. 1,000 full memberships in one JVM on 2 cores measured the simulator (each
 * builds its member set of N up to ten times a second while N join), not etcd; on a real fleet each
 * host does that work for itself.
 *
 * <p>Members start at a steady {@code rate} per second, as a fleet's hosts come up or a deploy
 * rolls over it. Measured: the start-up (first start until every full member sees all N), etcd's
 * CPU and the watch messages it sent meanwhile; the idle load (keep-alives per second, etcd CPU)
 * and whether any lease lapsed (a full member granted again, a light one's keep-alive answered
 * TTL 0 or failed); and a rolling restart of some full members, one at a time, each seen gone and
 * back by every other full member. etcd's own counters come from its {@code /metrics}.
 */
public final class EtcdScaleSim {
  private static final int CLIENTS = 4;
  private static final int FULL = 50;
  private static final ByteSequence PREFIX = ByteSequence.from("/imgcache2/sim/", UTF_8);
  private static final Duration TTL = Duration.ofSeconds(10);
  private static final Duration IDLE_WINDOW = Duration.ofSeconds(20);

  private final URI endpoint;
  private final long etcdPid;
  private final int n;
  private final List<Client> clients = new ArrayList<>();
  private final List<EtcdMembership> members = new ArrayList<>(); // the full ones
  private final List<AtomicReference<Set<String>>> views = new ArrayList<>(); // theirs
  private final List<String> urls = new ArrayList<>(); // theirs
  private final List<AutoCloseable> light = new ArrayList<>(); // keep-alives and watches of the others
  private final AtomicInteger grants = new AtomicInteger();
  private final AtomicInteger lightLapses = new AtomicInteger();
  private final HttpClient http = HttpClient.newHttpClient();

  private EtcdScaleSim(URI endpoint, long etcdPid, int n) {
    this.endpoint = endpoint;
    this.etcdPid = etcdPid;
    this.n = n;
  }

  public static void main(String[] args) throws Exception {
    URI endpoint = URI.create(args[0]);
    long etcdPid = Long.parseLong(args[1]);
    int n = Integer.parseInt(args[2]);
    double rate = Double.parseDouble(args[3]);
    int restarts = Math.min(Math.min(n, FULL) - 1, Integer.parseInt(args[4]));
    EtcdScaleSim sim = new EtcdScaleSim(endpoint, etcdPid, n);
    try {
      sim.run(rate, restarts);
    } finally {
      sim.close();
    }
  }

  private void run(double rate, int restarts) throws Exception {
    for (int i = 0; i < CLIENTS; i++) {
      clients.add(Client.builder().endpoints(endpoint).build());
    }
    long cpu = etcdCpuTicks();
    double watchSent = etcdCounter("grpc_server_msg_sent_total", "grpc_method=\"Watch\"");
    long t = System.nanoTime();
    long paceNanos = (long) (1e9 / rate);
    int full = Math.min(n, FULL);
    for (int i = 0; i < n; i++) {
      long due = t + i * paceNanos;
      long wait = due - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait); // pacing the starts, not waiting for an event
      }
      if ((long) i * full / n != (long) (i + 1) * full / n) { // FULL of them, evenly spread
        views.add(new AtomicReference<>(Set.of()));
        urls.add(url(i));
        members.add(start(members.size(), url(i)));
      } else {
        startLight(i);
      }
    }
    long lastStart = System.nanoTime();
    await(() -> views.stream().allMatch(v -> v.get().size() == n), Duration.ofMinutes(5));
    long startup = System.nanoTime() - t;
    long afterLast = System.nanoTime() - lastStart;
    double startupCpu = (etcdCpuTicks() - cpu) / 100.0;
    double watchMessages = etcdCounter("grpc_server_msg_sent_total", "grpc_method=\"Watch\"") - watchSent;

    long idleCpu = etcdCpuTicks();
    double keepAlives = etcdCounter("grpc_server_msg_received_total", "grpc_method=\"LeaseKeepAlive\"");
    long idleStart = System.nanoTime();
    TimeUnit.NANOSECONDS.sleep(IDLE_WINDOW.toNanos()); // a measuring window, not a wait for an event
    double idleSeconds = (System.nanoTime() - idleStart) / 1e9;
    double idleCpuShare = (etcdCpuTicks() - idleCpu) / 100.0 / idleSeconds;
    double keepAlivesPerSecond =
        (etcdCounter("grpc_server_msg_received_total", "grpc_method=\"LeaseKeepAlive\"") - keepAlives) / idleSeconds;
    boolean allStayed = views.stream().allMatch(v -> v.get().size() == n);

    long[] gone = new long[restarts];
    long[] back = new long[restarts];
    for (int r = 0; r < restarts; r++) {
      int i = members.size() - 1 - r;
      String url = urls.get(i);
      long s = System.nanoTime();
      members.get(i).deregister();
      members.get(i).close();
      await(() -> othersSee(i, n - 1), Duration.ofMinutes(2));
      gone[r] = System.nanoTime() - s;
      s = System.nanoTime();
      views.get(i).set(Set.of());
      members.set(i, start(i, url));
      await(() -> views.stream().allMatch(v -> v.get().size() == n), Duration.ofMinutes(2));
      back[r] = System.nanoTime() - s;
    }
    int lapsed = grants.get() - full - restarts + lightLapses.get();

    System.out.printf("| %,d | %.0f/s | %,d ms (%,d ms after the last start) | %.1f s | %,.0f | %.1f %% | %,.0f/s | %s |"
            + " %s | %s |%n", n, rate, startup / 1_000_000, afterLast / 1_000_000, startupCpu, watchMessages,
        100 * idleCpuShare, keepAlivesPerSecond, allStayed && lapsed == 0 ? "0" : lapsed + (allStayed ? "" : ", some left"),
        millis(gone), millis(back));
  }

  private boolean othersSee(int except, int size) {
    for (int j = 0; j < views.size(); j++) {
      if (j != except && views.get(j).get().size() != size) {
        return false;
      }
    }
    return true;
  }

  private static String url(int i) {
    return "http://10.0." + (i / 250) + "." + (i % 250 + 1) + ":9000";
  }

  /** Full member {@code i} (its index among the full ones) registering {@code url}. */
  private EtcdMembership start(int i, String url) {
    Client shared = clients.get(i % CLIENTS);
    EtcdMembership m = new EtcdMembership(unclosable(shared), url,
        PREFIX.toString(UTF_8), TTL, System::nanoTime, new EtcdMembership.EtcdEvents() {
          @Override
          public void leaseGranted() {
            grants.incrementAndGet();
          }
        });
    AtomicReference<Set<String>> view = views.get(i);
    m.start(view::set);
    return m;
  }

  /** What a member does to etcd, without a member behind it: list, register, keep alive, watch. */
  private void startLight(int i) throws Exception {
    Client c = clients.get(i % CLIENTS);
    long revision = c.getKVClient().get(PREFIX, GetOption.builder().isPrefix(true).build()).get()
        .getHeader().getRevision();
    long lease = c.getLeaseClient().grant(TTL.toSeconds()).get().getID();
    String url = url(i);
    c.getKVClient().put(ByteSequence.from(PREFIX.toString(UTF_8) + url.replace('/', '_'), UTF_8),
        ByteSequence.from(url, UTF_8), PutOption.builder().withLeaseId(lease).build()).get();
    light.add(c.getLeaseClient().keepAlive(lease, new StreamObserver<>() {
      @Override
      public void onNext(LeaseKeepAliveResponse response) {
        if (response.getTTL() <= 0) {
          lightLapses.incrementAndGet();
        }
      }

      @Override
      public void onError(Throwable t) {
        lightLapses.incrementAndGet();
      }

      @Override
      public void onCompleted() {}
    }));
    light.add(c.getWatchClient().watch(PREFIX, WatchOption.builder().isPrefix(true).withRevision(revision + 1).build(),
        Watch.listener(response -> {}))); // etcd's /metrics counts what it sent
  }

  /** Median and maximum of {@code nanos}, in milliseconds; "—" when empty. */
  private static String millis(long[] nanos) {
    if (nanos.length == 0) {
      return "—";
    }
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    return String.format("%,d / %,d ms", sorted[sorted.length / 2] / 1_000_000, sorted[sorted.length - 1] / 1_000_000);
  }

  private void close() {
    for (AutoCloseable c : light) {
      try {
        c.close();
      } catch (Exception e) {
        // closing anyway
      }
    }
    members.forEach(EtcdMembership::close);
    clients.forEach(Client::close);
  }

  /** {@code client} as a supplier of clients whose close() does nothing: the sim closes the shared ones. */
  private static Supplier<Client> unclosable(Client client) {
    Client proxy = (Client) Proxy.newProxyInstance(Client.class.getClassLoader(), new Class<?>[] {Client.class},
        (p, method, args) -> method.getName().equals("close") ? null : method.invoke(client, args));
    return () -> proxy;
  }

  /** The sum of etcd's Prometheus counter {@code name} over the series whose labels contain {@code label}. */
  private double etcdCounter(String name, String label) throws IOException, InterruptedException {
    String text = http.send(HttpRequest.newBuilder(endpoint.resolve("/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    double sum = 0;
    for (String line : text.split("\n")) {
      if (line.startsWith(name + "{") && line.contains(label)) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  /** utime + stime of etcd, in clock ticks (1/100 s). */
  private long etcdCpuTicks() throws IOException {
    String stat = Files.readString(Path.of("/proc/" + etcdPid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  private static void await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout);
      }
      TimeUnit.MILLISECONDS.sleep(10);
    }
  }
}
