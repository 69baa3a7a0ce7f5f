package io.imgcache.peer;

import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.metrics.Json;
import io.undertow.util.Methods;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One removal request (purge, ban) to one member over the peer protocol, and the JSON answer that
 * gathers every member's: {@code {"<subject>": s, "removed": {"<member>": n or "error: ..."},
 * "total": n}}.
 */
final class Broadcast {
  private static final Pattern REMOVED = Pattern.compile("\"removed\"\\s*:\\s*(\\d+)");

  private Broadcast() {}

  /**
   * Sends {@code DELETE path} to {@code member}; completes (never exceptionally) with the copies it
   * removed, as text, or {@code "error: ..."}.
   */
  static CompletableFuture<String> delete(PooledHttpClient pool, String member, String path, List<String> headers,
      Duration timeout) {
    return pool.send(Methods.DELETE, URI.create(member), path, headers, timeout, 4096)
        .handle((response, failure) -> {
          if (failure != null) {
            return "error: " + failure.getMessage();
          }
          Matcher m = REMOVED.matcher(new String(response.body(), StandardCharsets.UTF_8));
          return response.status() == 200 && m.find() ? m.group(1) : "error: answered " + response.status();
        });
  }

  static boolean failed(String answer) {
    return answer.startsWith("error");
  }

  /** The answer gathering {@code answers} (by member, in order) under {@code subjectName: subject}. */
  static String json(String subjectName, String subject, Map<String, String> answers) {
    Json json = new Json().beginObject().name(subjectName).value(subject).name("removed").beginObject();
    long total = 0;
    for (Map.Entry<String, String> answer : answers.entrySet()) {
      json.name(answer.getKey());
      if (failed(answer.getValue())) {
        json.value(answer.getValue());
      } else {
        json.value(Long.parseLong(answer.getValue()));
        total += Long.parseLong(answer.getValue());
      }
    }
    return json.endObject().name("total").value(total).endObject().toString();
  }

  /** The body a member answers a removal with. */
  static String answer(int removed) {
    return "{\"removed\":" + removed + "}";
  }
}
