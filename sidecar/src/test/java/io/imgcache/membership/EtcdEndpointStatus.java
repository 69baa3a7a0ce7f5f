package io.imgcache.membership;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One endpoint's line of {@code etcdctl endpoint status -w json}: which member answered and whom it
 * takes for leader. Member ids are uint64, kept as decimal strings; "0" means no leader known.
 */
record EtcdEndpointStatus(String endpoint, String memberId, String leaderId) {
  private static final Pattern ENTRY = Pattern.compile("\\{\"Endpoint\":\"([^\"]+)\"");
  private static final Pattern MEMBER_ID = Pattern.compile("\"member_id\":(\\d+)");
  private static final Pattern LEADER_ID = Pattern.compile("\"leader\":(\\d+)");

  /** Whether this member says it is the leader. */
  boolean leads() {
    return memberId.equals(leaderId);
  }

  boolean knowsLeader() {
    return !leaderId.equals("0");
  }

  /**
   * Parses {@code [{"Endpoint":"<url>","Status":{"header":{...,"member_id":N,...},...,"leader":N,
   * ...}}, ...]}; endpoints that did not answer are absent (etcdctl reports them on stderr).
   */
  static List<EtcdEndpointStatus> parse(String json) {
    List<EtcdEndpointStatus> statuses = new ArrayList<>();
    Matcher entry = ENTRY.matcher(json);
    boolean found = entry.find();
    while (found) {
      String endpoint = entry.group(1);
      int bodyStart = entry.end();
      found = entry.find();
      String body = json.substring(bodyStart, found ? entry.start() : json.length());
      Matcher member = MEMBER_ID.matcher(body);
      Matcher leader = LEADER_ID.matcher(body);
      if (member.find() && leader.find()) {
        statuses.add(new EtcdEndpointStatus(endpoint, member.group(1), leader.group(1)));
      }
    }
    return statuses;
  }
}
