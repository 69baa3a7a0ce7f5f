package io.imgcache.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The whole validated configuration of one node. Immutable and thread-safe.
 *
 * <p>Build it with {@link #load(Path)} (a host's file over {@code reference.conf}, under system
 * properties and {@code CONFIG_FORCE_} environment variables) or {@link #from(Config)}. Every
 * problem is an {@link InvalidConfigException} naming the full key.
 */
public record ImgcacheConfig(
    Listen listen,
    URI selfUrl,
    String group,
    Origin origin,
    Cache cache,
    RingSettings ring,
    Membership membership,
    Peers peers,
    Etcd etcd,
    Health health,
    Shutdown shutdown,
    String adminToken) {

  /** The file a host's config lives in when no {@code --config} is given. */
  public static final Path DEFAULT_FILE = Path.of("/etc/imgcache/imgcache.conf");

  private static final String ROOT = "imgcache";

  /**
   * @param maxHeaderLine longer request header lines ({@code name: value}) get 431
   * @param ioThreads XNIO IO threads serving clients and peers and running the node's own peer and
   *     origin connections; 0 = one per core the JVM sees
   */
  public record Listen(String host, int port, int maxHeaderLine, int ioThreads) {
    /** {@link #ioThreads}, with 0 resolved to the cores the JVM sees. */
    public int ioThreadCount() {
      return ioThreads > 0 ? ioThreads : Runtime.getRuntime().availableProcessors();
    }
  }

  /**
   * @param maxConnections connections the origin sees from this node, loads and pass-through together
   * @param maxQueued requests that may wait for one of them; more are refused at once (503)
   * @param queueTimeout how long a request may wait for one (then 503)
   */
  public record Origin(URI url, Duration connectTimeout, Duration timeout, int maxConnections, int maxQueued,
      Duration queueTimeout) {
    /** The longest an origin request may take from arrival to the end of its response. */
    public Duration worstCase() {
      return queueTimeout.plus(connectTimeout).plus(timeout);
    }
  }

  public record Cache(
      long maxBytes,
      double hotFraction,
      long maxObjectSize,
      boolean implicitFreshness,
      Duration defaultTtl,
      Duration negativeTtl,
      Duration minTtl,
      Duration maxTtl,
      Duration staleWhileRevalidate,
      Duration staleIfError,
      List<String> varyAcceptFormats,
      boolean passRequestCookies,
      Duration banLifetime,
      Disk disk,
      Key key) {
    /** Bytes for the main cache: what the hot cache does not take. */
    public long mainBytes() {
      return maxBytes - hotBytes();
    }

    public long hotBytes() {
      return (long) (maxBytes * hotFraction);
    }
  }

  public record Key(boolean sortQuery, List<String> ignoreParams, int maxLength) {}

  /** {@code cache.disk}: {@code path} empty = no disk tier. */
  public record Disk(String path, long maxBytes, int writeQueue, int mappedFiles) {
    public boolean enabled() {
      return !path.isEmpty();
    }
  }

  public record RingSettings(int vnodes, Duration warmupWindow) {}

  public enum Membership { STATIC, ETCD }

  public record Peers(
      List<URI> staticMembers,
      String token,
      Duration connectTimeout,
      Duration timeout,
      Pool pool) {}

  public record Pool(int maxPerPeer, int maxIdlePerPeer, Duration borrowTimeout, Duration idleTimeout) {}

  public record Etcd(
      List<URI> endpoints,
      String prefix,
      String bansPrefix,
      Duration leaseTtl,
      String user,
      String password,
      String caFile,
      String certFile,
      String keyFile) {}

  /** {@code sample}: see {@code HealthMonitor}; with at most that many other members every peer is probed each round. */
  public record Health(Duration interval, Duration timeout, int unhealthyThreshold, int healthyThreshold, int sample) {}

  public record Shutdown(Duration deregisterWait, Duration drainTimeout) {}

  /**
   * Loads the effective configuration: overrides (system properties, {@code CONFIG_FORCE_}
   * environment variables) over {@code file} (if not null) over {@code reference.conf}.
   *
   * @throws InvalidConfigException naming the key, for a missing file, bad syntax or a bad value
   */
  public static ImgcacheConfig load(Path file) {
    return from(effective(file));
  }

  /** The merged, resolved HOCON tree {@link #load} validates; {@code file} may be null. */
  public static Config effective(Path file) {
    Config hostFile = ConfigFactory.empty();
    if (file != null) {
      if (!Files.isReadable(file)) {
        throw new InvalidConfigException(ROOT, "cannot read config file " + file);
      }
      try {
        hostFile = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
      } catch (ConfigException e) {
        throw new InvalidConfigException(ROOT, "cannot parse " + file + ": " + e.getMessage());
      }
    }
    try {
      return ConfigFactory.defaultOverrides()
          .withFallback(ConfigFactory.systemEnvironmentOverrides())
          .withFallback(hostFile)
          .withFallback(ConfigFactory.defaultReference())
          .resolve();
    } catch (ConfigException e) {
      throw new InvalidConfigException(ROOT, e.getMessage());
    }
  }

  /** Validates {@code root} (which must already include the reference defaults). */
  public static ImgcacheConfig from(Config root) {
    rejectUnknownKeys(root);
    Section s = new Section(root, ROOT);

    Section listenS = s.child("listen");
    Listen listen = new Listen(listenS.string("host"), listenS.intIn("port", 0, 65535),
        (int) listenS.bytesIn("max-header-line", 256, 32 * 1024), listenS.intIn("io-threads", 0, 256));

    Section originS = s.child("origin");
    Duration originTimeout = originS.positiveDuration("timeout");
    Origin origin = new Origin(
        originS.httpUrl("url"),
        originS.positiveDuration("connect-timeout"),
        originTimeout,
        originS.intIn("max-connections", 1, 10_000),
        originS.intIn("max-queued", 0, 1_000_000),
        originS.nullableString("queue-timeout") == null ? originTimeout : originS.positiveDuration("queue-timeout"));

    Section cacheS = s.child("cache");
    Section keyS = cacheS.child("key");
    Section diskS = cacheS.child("disk");
    long maxBytes = cacheS.bytesIn("max-bytes", 1 << 20, Long.MAX_VALUE / 2);
    Cache cache = new Cache(
        maxBytes,
        cacheS.doubleIn("hot-fraction", 0.0, 0.5),
        // Caffeine weighs entries with an int, and one object must fit in the main cache.
        cacheS.bytesIn("max-object-size", 1, Math.min(Integer.MAX_VALUE / 2, maxBytes / 2)),
        cacheS.bool("implicit-freshness"),
        cacheS.duration("default-ttl"),
        cacheS.duration("negative-ttl"),
        cacheS.duration("min-ttl"),
        cacheS.duration("max-ttl"),
        cacheS.duration("stale-while-revalidate"),
        cacheS.duration("stale-if-error"),
        cacheS.child("vary").strings("accept-formats"),
        switch (cacheS.string("request-cookies")) {
          case "strip" -> false;
          case "pass" -> true;
          default -> throw cacheS.invalid("request-cookies",
              "must be strip or pass, was \"" + cacheS.string("request-cookies") + "\"");
        },
        cacheS.positiveDuration("ban-lifetime"),
        new Disk(diskS.string("path"), diskS.bytesIn("max-bytes", 1 << 20, Long.MAX_VALUE / 2),
            diskS.intIn("write-queue", 1, 1 << 20), diskS.intIn("mapped-files", 0, 1 << 20)),
        new Key(keyS.bool("sort-query"), keyS.strings("ignore-params"), keyS.intIn("max-length", 64, 65_536)));

    if (!cache.maxTtl().isZero() && cache.minTtl().compareTo(cache.maxTtl()) > 0) {
      throw cacheS.invalid("min-ttl", "must not exceed cache.max-ttl (" + cache.maxTtl() + "), was " + cache.minTtl());
    }

    Section ringS = s.child("ring");
    RingSettings ring = new RingSettings(ringS.intIn("vnodes", 1, 10_000), ringS.duration("warmup-window"));

    Membership membership = switch (s.string("membership")) {
      case "static" -> Membership.STATIC;
      case "etcd" -> Membership.ETCD;
      default -> throw s.invalid("membership", "must be static or etcd, was \"" + s.string("membership") + "\"");
    };

    Section peersS = s.child("peers");
    Section poolS = peersS.child("pool");
    int maxPerPeer = poolS.intIn("max-per-peer", 1, 10_000);
    Peers peers = new Peers(
        peersS.strings("static").stream().map(u -> peersS.httpUrl("static", u)).distinct().toList(),
        peersS.string("token"),
        peersS.positiveDuration("connect-timeout"),
        peersS.positiveDuration("timeout"),
        new Pool(
            maxPerPeer,
            poolS.intIn("max-idle-per-peer", 0, maxPerPeer),
            poolS.positiveDuration("borrow-timeout"),
            poolS.positiveDuration("idle-timeout")));

    if (peers.timeout().compareTo(origin.worstCase()) < 0) {
      // A peer asking this node for a key it owns waits in the same origin queue as a local load.
      throw peersS.invalid("timeout", peers.timeout().toMillis() + "ms is shorter than what an owner may take "
          + "for a load: origin.queue-timeout + origin.connect-timeout + origin.timeout = "
          + origin.worstCase().toMillis() + "ms (a peer would give up on a working owner and load the key again)");
    }

    Section etcdS = s.child("etcd");
    Section tlsS = etcdS.child("tls");
    Etcd etcd = new Etcd(
        etcdS.strings("endpoints").stream().map(u -> etcdEndpoint(etcdS, u)).toList(),
        etcdS.string("prefix"),
        etcdS.string("bans-prefix"),
        etcdS.positiveDuration("lease-ttl"),
        etcdS.string("user"),
        etcdS.string("password"),
        tlsS.string("ca-file"),
        tlsS.string("cert-file"),
        tlsS.string("key-file"));
    if (membership == Membership.ETCD && etcd.endpoints().isEmpty()) {
      throw etcdS.invalid("endpoints", "must list at least one URL when membership = etcd");
    }
    if (!etcd.prefix().startsWith("/") || !etcd.prefix().endsWith("/")) {
      throw etcdS.invalid("prefix", "must start and end with '/', was \"" + etcd.prefix() + "\"");
    }
    if (!etcd.bansPrefix().startsWith("/") || !etcd.bansPrefix().endsWith("/")
        || etcd.bansPrefix().startsWith(etcd.prefix()) || etcd.prefix().startsWith(etcd.bansPrefix())) {
      throw etcdS.invalid("bans-prefix", "must start and end with '/' and not overlap etcd.prefix (\""
          + etcd.prefix() + "\"), was \"" + etcd.bansPrefix() + "\"");
    }

    Section healthS = s.child("health");
    Health health = new Health(
        healthS.positiveDuration("interval"),
        healthS.positiveDuration("timeout"),
        healthS.intIn("unhealthy-threshold", 1, 100),
        healthS.intIn("healthy-threshold", 1, 100),
        healthS.intIn("sample", 1, 100_000));
    Duration dropTime = health.interval().multipliedBy(health.unhealthyThreshold()).plus(health.timeout());
    if (membership == Membership.ETCD && dropTime.compareTo(etcd.leaseTtl()) >= 0) {
      throw healthS.invalid("interval", "interval × unhealthy-threshold + timeout = " + dropTime.toMillis()
          + "ms must be below etcd.lease-ttl (" + etcd.leaseTtl().toMillis()
          + "ms): a cut-off peer must leave the ring before its lease expires");
    }

    Section shutdownS = s.child("shutdown");
    Shutdown shutdown = new Shutdown(shutdownS.duration("deregister-wait"), shutdownS.duration("drain-timeout"));

    String selfText = s.nullableString("self-url");
    URI selfUrl = selfText == null ? defaultSelfUrl(listen.port()) : s.httpUrl("self-url", selfText);

    String group = s.string("group");
    if (!group.matches("[A-Za-z0-9._-]{1,64}") || group.startsWith("_")) {
      throw s.invalid("group", "must be 1-64 of [A-Za-z0-9._-], not starting with '_', was \"" + group + "\"");
    }

    return new ImgcacheConfig(listen, selfUrl, group, origin, cache, ring, membership, peers, etcd, health,
        shutdown, s.child("admin").string("token"));
  }

  private static URI etcdEndpoint(Section etcdS, String text) {
    try {
      URI uri = new URI(text);
      if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null) {
        return uri;
      }
    } catch (URISyntaxException e) {
      // reported below
    }
    throw etcdS.invalid("endpoints", "must be http://host:port or https://host:port URLs, was \"" + text + "\"");
  }

  private static URI defaultSelfUrl(int port) {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      host = "127.0.0.1";
    }
    return URI.create("http://" + host + ":" + port);
  }

  /** Every key under {@code imgcache} must be one {@code reference.conf} knows: a typo is an error. */
  private static void rejectUnknownKeys(Config root) {
    if (!root.hasPath(ROOT)) {
      throw new InvalidConfigException(ROOT, "missing (is reference.conf on the class path?)");
    }
    // The unresolved reference: the resolved one also holds -D system properties, typos included.
    rejectUnknownKeys(root.getObject(ROOT), ConfigFactory.defaultReferenceUnresolved().getObject(ROOT), ROOT);
  }

  /** Walks objects (entrySet() of a Config would skip keys set to null). */
  private static void rejectUnknownKeys(ConfigObject given, ConfigObject known, String path) {
    for (Map.Entry<String, ConfigValue> entry : given.entrySet()) {
      String key = path + "." + ConfigUtil.quoteString(entry.getKey()).replaceAll("^\"([A-Za-z0-9_-]+)\"$", "$1");
      if (!known.containsKey(entry.getKey())) {
        throw new InvalidConfigException(key, "unknown key");
      }
      if (entry.getValue() instanceof ConfigObject child && known.get(entry.getKey()) instanceof ConfigObject sub) {
        rejectUnknownKeys(child, sub, key);
      }
    }
  }
}
