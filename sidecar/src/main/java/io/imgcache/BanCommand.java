package io.imgcache;

import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * {@code imgcache ban --url URL [--token T] PREFIX}: asks the node at URL to ban every key whose
 * target starts with PREFIX on every member, and prints its JSON answer. Exit status 0 when every
 * member applied it, 1 when one did not answer (the node keeps sending it) or the node refused, 2
 * for bad arguments.
 */
final class BanCommand {
  static final String USAGE = "imgcache ban --url URL [--token T] PREFIX";

  private BanCommand() {}

  static int run(String[] args, PrintStream out, PrintStream err) {
    String url = null;
    String token = null;
    String prefix = null;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if ((arg.equals("--url") || arg.equals("--token")) && i + 1 < args.length) {
        if (arg.equals("--url")) {
          url = args[++i];
        } else {
          token = args[++i];
        }
      } else if (arg.startsWith("--url=")) {
        url = arg.substring("--url=".length());
      } else if (arg.startsWith("--token=")) {
        token = arg.substring("--token=".length());
      } else if (!arg.startsWith("--") && prefix == null) {
        prefix = arg;
      } else {
        return usage(err, "unexpected argument: " + arg);
      }
    }
    if (url == null || prefix == null) {
      return usage(err, url == null ? "--url is required" : "PREFIX is required");
    }
    if (!prefix.startsWith("/")) {
      return usage(err, "PREFIX is a request target prefix and starts with /, was " + prefix);
    }
    URI base;
    try {
      base = NodeCall.nodeUrl(url, "ban");
    } catch (IllegalArgumentException e) {
      return usage(err, e.getMessage());
    }
    String node = NodeCall.name(base);
    HttpRequest request = NodeCall.withToken(HttpRequest.newBuilder(
            base.resolve("/_imgcache/ban?prefix=" + URLEncoder.encode(prefix, StandardCharsets.UTF_8)))
        .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.noBody()), token).build();
    HttpResponse<String> answer = NodeCall.send(request, node, err);
    if (answer == null) {
      return 1;
    }
    if (answer.statusCode() != 200) {
      return NodeCall.fail(err, node + " answered " + answer.statusCode() + ": " + answer.body().strip());
    }
    out.println(answer.body());
    if (answer.body().contains("\"error")) {
      err.println("imgcache: some members did not answer; the node sends them the ban again until they do"
          + " (cache.ban-lifetime)");
      return 1;
    }
    return 0;
  }

  private static int usage(PrintStream err, String problem) {
    err.println("imgcache: " + problem);
    err.println("usage: " + USAGE);
    return 2;
  }
}
