package io.imgcache.peer;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.imgcache.metrics.Json;
import io.imgcache.metrics.NodeReport;
import java.util.ArrayList;
import java.util.List;

/**
 * The whole cluster as one node sees it — what {@code GET /_imgcache/cluster} answers and {@code
 * imgcache status} shows: every member that node knows, with whether its health monitor holds it
 * healthy, the share of that node's ring it owns, and the member's own {@link NodeReport} or why
 * there is none. Immutable. The JSON:
 *
 * <pre>{@code
 * {"asked": "http://10.0.0.1:9000",
 *  "members": [{"url": "http://10.0.0.1:9000", "healthy": true, "share": 0.34, "status": {...}, "error": null},
 *              {"url": "http://10.0.0.2:9000", "healthy": false, "share": 0, "status": null,
 *               "error": "cannot connect to http://10.0.0.2:9000: Connection refused"}]}
 * }</pre>
 *
 * @param asked the URL of the node whose view this is
 * @param members sorted by URL
 */
public record ClusterReport(String asked, List<Member> members) {
  public ClusterReport {
    members = List.copyOf(members);
  }

  /**
   * One member as the asked node sees it.
   *
   * @param status the member's own figures; null when it gave none, {@code error} says why
   * @param error null when {@code status} is there
   */
  public record Member(String url, boolean healthy, double share, NodeReport status, String error) {
    /** Healthy for the asked node, answering, and ready. */
    public boolean fine() {
      return healthy && status != null && status.ready();
    }
  }

  /** Whether every member is {@link Member#fine}. */
  public boolean allFine() {
    return members.stream().allMatch(Member::fine);
  }

  public Json write(Json json) {
    json.beginObject().name("asked").value(asked).name("members").beginArray();
    for (Member member : members) {
      json.beginObject()
          .name("url").value(member.url())
          .name("healthy").value(member.healthy())
          .name("share").value(member.share())
          .name("status");
      if (member.status() == null) {
        json.value((String) null);
      } else {
        member.status().write(json);
      }
      json.name("error").value(member.error()).endObject();
    }
    return json.endArray().endObject();
  }

  @Override
  public String toString() {
    return write(new Json()).toString();
  }

  /**
   * Reads what {@link #write} wrote.
   *
   * @throws IllegalArgumentException if {@code json} is not a cluster report, saying what is wrong
   */
  public static ClusterReport parse(String json) {
    Config report = Json.read(json);
    try {
      List<Member> members = new ArrayList<>();
      for (Config member : report.getConfigList("members")) {
        members.add(new Member(member.getString("url"), member.getBoolean("healthy"), member.getDouble("share"),
            member.hasPath("status") ? NodeReport.read(member.getConfig("status")) : null,
            member.hasPath("error") ? member.getString("error") : null));
      }
      return new ClusterReport(report.getString("asked"), members);
    } catch (ConfigException e) {
      throw new IllegalArgumentException("not a cluster status: " + e.getMessage(), e);
    }
  }
}
