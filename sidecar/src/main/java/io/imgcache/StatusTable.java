package io.imgcache;

import io.imgcache.metrics.NodeReport;
import io.imgcache.peer.ClusterReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code imgcache status} as people read it: one line per member, columns aligned, like {@code
 * nodetool status}, then what the columns count.
 */
final class StatusTable {
  private static final List<String> HEADER =
      List.of("MEMBER", "STATE", "OWNS", "ENTRIES", "MEMORY", "DISK", "HIT", "LOADS/S", "PEER-ERR", "UPTIME", "VERSION");
  /** Columns a member without figures still has (MEMBER, STATE, OWNS); its error takes the rest. */
  private static final int VIEW_COLUMNS = 3;

  private StatusTable() {}

  static String render(ClusterReport report) {
    List<List<String>> rows = new ArrayList<>();
    rows.add(HEADER);
    long inRing = 0;
    double window = 0;
    for (ClusterReport.Member member : report.members()) {
      inRing += member.healthy() ? 1 : 0;
      List<String> row = new ArrayList<>(List.of(member.url(), state(member),
          String.format(Locale.ROOT, "%.1f%%", member.share() * 100)));
      NodeReport s = member.status();
      if (s == null) {
        row.add("unreachable: " + member.error());
      } else {
        window = s.loadWindowSeconds();
        row.addAll(List.of(Long.toString(s.memory().entries()), bytes(s.memory().bytes()),
            s.disk() == null ? "-" : bytes(s.disk().bytes()),
            Double.isNaN(s.hitRatio()) ? "-" : String.format(Locale.ROOT, "%.1f%%", s.hitRatio() * 100),
            String.format(Locale.ROOT, "%.2f", s.originLoadsPerSecond()), Long.toString(s.peerErrors()),
            duration((long) s.uptimeSeconds()), s.version()));
      }
      rows.add(row);
    }
    int[] widths = new int[HEADER.size()];
    for (List<String> row : rows) {
      // A row without figures ends in its error, which is not a column to align on.
      for (int i = 0; i < (row.size() == HEADER.size() ? row.size() - 1 : Math.min(row.size(), VIEW_COLUMNS)); i++) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    StringBuilder out = new StringBuilder();
    out.append("Cluster as ").append(report.asked()).append(" sees it: ").append(report.members().size())
        .append(" members, ").append(inRing).append(" in its ring\n");
    for (List<String> row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.size(); i++) {
        line.append(i + 1 < row.size() ? pad(row.get(i), widths[i]) + "  " : row.get(i));
      }
      out.append(line.toString().stripTrailing()).append('\n');
    }
    long fine = report.members().stream().filter(ClusterReport.Member::fine).count();
    out.append(fine == report.members().size()
        ? "All " + fine + " members healthy, answering and ready.\n"
        : fine + " of " + report.members().size() + " members healthy, answering and ready.\n");
    out.append("STATE: as ").append(report.asked()).append("'s health monitor sees it; OWNS: share of its ring. ")
        .append("ENTRIES, MEMORY: main + hot cache; DISK: the disk tier's bytes (- without one).\n")
        .append("HIT: client requests answered from this node's memory or disk, of those that could be (all but PASS), since start. ")
        .append("LOADS/S: origin loads per second, last ").append(window == 0 ? "minute" : (long) window + " s")
        .append(". PEER-ERR: failed fetches from key owners since start.\n");
    return out.toString();
  }

  private static String state(ClusterReport.Member member) {
    if (!member.healthy()) {
      return "unhealthy";
    }
    return member.status() != null && !member.status().ready() ? "not ready" : "healthy";
  }

  private static String pad(String text, int width) {
    return text + " ".repeat(Math.max(0, width - text.length()));
  }

  /** 1536 → "1.5 KiB". */
  static String bytes(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double value = bytes;
    int unit = -1;
    while (value >= 1024 && unit + 1 < units.length) {
      value /= 1024;
      unit++;
    }
    return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
  }

  /** 45 → "45s", 750 → "12m30s", 18000 → "5h00m", 300000 → "3d11h". */
  static String duration(long seconds) {
    if (seconds < 60) {
      return seconds + "s";
    }
    if (seconds < 3600) {
      return String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
    }
    if (seconds < 86400) {
      return String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, seconds % 3600 / 60);
    }
    return String.format(Locale.ROOT, "%dd%02dh", seconds / 86400, seconds % 86400 / 3600);
  }
}
