package io.imgcache;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import io.imgcache.config.ImgcacheConfig;
import io.imgcache.config.InvalidConfigException;
import io.imgcache.sample.SampleOrigin;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import org.slf4j.bridge.SLF4JBridgeHandler;
import sun.misc.Signal;

/** The command line: {@code imgcache run|demo|status|ban|sample-origin|check-config|version}. */
public final class Main {
  static final String USAGE = String.join("\n",
      "usage: imgcache run [--config FILE]             run a node (default config: " + ImgcacheConfig.DEFAULT_FILE + ")",
      "       imgcache demo                            a sample origin and a local cluster, no etcd",
      "       imgcache status --url URL [--token T] [--json]   the cluster as the node at URL sees it",
      "       imgcache sample-origin [--port N] [--delay 50ms]   a stand-in for imgfit",
      "       imgcache check-config [--config FILE]    validate and print the effective config",
      "       " + BanCommand.USAGE + "   ban a target prefix on every member",
      "       imgcache version");

  /** Options that take no value; present means "true". */
  private static final Set<String> FLAGS = Set.of("--json");

  /** Secrets masked by check-config. */
  private static final List<String> SECRETS =
      List.of("imgcache.peers.token", "imgcache.admin.token", "imgcache.etcd.password");

  private Main() {}

  public static void main(String[] args) {
    // Undertow and XNIO log through JBoss Logging: route it to slf4j before they load.
    if (System.getProperty("org.jboss.logging.provider") == null) {
      System.setProperty("org.jboss.logging.provider", "slf4j");
    }
    // gRPC logs through java.util.logging.
    SLF4JBridgeHandler.removeHandlersForRootLogger();
    SLF4JBridgeHandler.install();
    System.exit(run(args, System.out, System.err));
  }

  /**
   * Runs one command; returns the exit status. Long-running commands return when stopped. Public
   * for tests of other packages that drive the command line against nodes of their own.
   */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0) {
      return usage(err, "no command given");
    }
    if (args[0].equals("ban")) { // a positional argument: parsed by itself
      return BanCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length), out, err);
    }
    Map<String, String> options;
    try {
      options = options(args);
    } catch (IllegalArgumentException e) {
      return usage(err, e.getMessage());
    }
    try {
      return switch (args[0]) {
        case "run" -> only(options, err, "--config") ? run(configFile(options, true)) : 2;
        case "check-config" -> only(options, err, "--config") ? checkConfig(configFile(options, true), out) : 2;
        case "sample-origin" -> only(options, err, "--port", "--delay") ? sampleOrigin(options, out) : 2;
        case "demo" -> only(options, err) ? Demo.run(out) : 2;
        case "status" -> only(options, err, "--url", "--token", "--json")
            ? StatusCommand.run(options.get("--url"), options.get("--token"), options.containsKey("--json"), out, err)
            : 2;
        case "version" -> only(options, err) ? version(out) : 2;
        default -> usage(err, "unknown command: " + args[0]);
      };
    } catch (InvalidConfigException e) {
      err.println("imgcache: bad config: " + e.getMessage());
      return 2;
    } catch (IllegalStateException e) {
      err.println("imgcache: cannot start: " + e.getMessage());
      return 1;
    } catch (IllegalArgumentException e) {
      return usage(err, e.getMessage());
    }
  }

  private static int usage(PrintStream err, String problem) {
    err.println("imgcache: " + problem);
    err.println(USAGE);
    return 2;
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 1; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument: " + arg);
      }
      int eq = arg.indexOf('=');
      if (FLAGS.contains(eq > 0 ? arg.substring(0, eq) : arg)) {
        if (eq > 0) {
          throw new IllegalArgumentException(arg.substring(0, eq) + " takes no value");
        }
        options.put(arg, "true");
      } else if (eq > 0) {
        options.put(arg.substring(0, eq), arg.substring(eq + 1));
      } else if (i + 1 < args.length) {
        options.put(arg, args[++i]);
      } else {
        throw new IllegalArgumentException(arg + " needs a value");
      }
    }
    return options;
  }

  private static boolean only(Map<String, String> options, PrintStream err, String... allowed) {
    List<String> unknown = new ArrayList<>(options.keySet());
    unknown.removeAll(List.of(allowed));
    if (!unknown.isEmpty()) {
      usage(err, "unknown option: " + unknown.get(0));
      return false;
    }
    return true;
  }

  /** The --config file, else the host's default file if it exists, else none (defaults only). */
  private static Path configFile(Map<String, String> options, boolean defaultIfPresent) {
    String given = options.get("--config");
    if (given != null) {
      return Path.of(given);
    }
    // notExists, not !exists: a file we may not look at (a 0750 /etc/imgcache for a non-root
    // user) must fail loudly when read, not silently fall back to the defaults.
    return defaultIfPresent && !Files.notExists(ImgcacheConfig.DEFAULT_FILE) ? ImgcacheConfig.DEFAULT_FILE : null;
  }

  private static int run(Path configFile) {
    ImgcacheConfig config = ImgcacheConfig.load(configFile);
    Node node = Node.start(config);
    awaitShutdown(node);
    return 0;
  }

  /**
   * Blocks until SIGTERM or SIGINT (Ctrl-C), then closes {@code resources} in order and returns, so
   * that the process exits 0 after a clean stop (a JVM killed by a signal would exit 143).
   */
  static void awaitShutdown(AutoCloseable... resources) {
    CountDownLatch stop = new CountDownLatch(1);
    for (String name : List.of("TERM", "INT")) {
      Signal.handle(new Signal(name), signal -> stop.countDown());
    }
    try {
      stop.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (AutoCloseable resource : resources) {
      try {
        resource.close();
      } catch (Exception e) {
        System.err.println("imgcache: closing " + resource + " failed: " + e);
      }
    }
  }

  private static int checkConfig(Path configFile, PrintStream out) {
    Config effective = ImgcacheConfig.effective(configFile);
    ImgcacheConfig.from(effective);
    for (String secret : SECRETS) {
      if (!effective.getString(secret).isEmpty()) {
        effective = effective.withValue(secret, ConfigValueFactory.fromAnyRef("********"));
      }
    }
    out.println("# effective configuration" + (configFile == null ? " (defaults)" : " from " + configFile));
    // Valid HOCON: the printout can be saved and used as a host's config file.
    out.println(ConfigFactory.empty().withValue("imgcache", effective.getValue("imgcache")).root()
        .render(ConfigRenderOptions.concise().setFormatted(true).setJson(false)));
    out.println("# config OK");
    return 0;
  }

  private static int sampleOrigin(Map<String, String> options, PrintStream out) {
    int port = parsePort(options.getOrDefault("--port", "8000"));
    Duration delay = parseDuration("--delay", options.getOrDefault("--delay", "50ms"));
    SampleOrigin origin = SampleOrigin.start("127.0.0.1", port, delay);
    out.println("sample origin on http://127.0.0.1:" + origin.port() + " (delay " + delay.toMillis() + "ms)");
    out.println("try: curl -s -o /dev/null -w '%{http_code} %{size_download} bytes\\n' 'http://127.0.0.1:"
        + origin.port() + "/v2/image/png/003?w=850&h=200&type=.png'");
    awaitShutdown(origin);
    return 0;
  }

  static int parsePort(String text) {
    try {
      int port = Integer.parseInt(text);
      if (port >= 0 && port <= 65535) {
        return port;
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw new IllegalArgumentException("--port must be a number from 0 to 65535, was " + text);
  }

  /** Parses "50ms", "1s", "0" with typesafe-config's duration syntax. */
  static Duration parseDuration(String option, String text) {
    try {
      return ConfigFactory.parseMap(Map.of("d", text)).getDuration("d");
    } catch (ConfigException e) {
      throw new IllegalArgumentException(option + " must be a duration such as 50ms or 1s, was " + text);
    }
  }

  private static int version(PrintStream out) {
    out.println("imgcache " + Version.describe());
    return 0;
  }

}
