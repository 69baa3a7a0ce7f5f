package io.imgcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.metrics.NodeReport;
import io.imgcache.peer.ClusterReport;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** How {@code imgcache status} prints what it got. */
class StatusTableTest {
  @ParameterizedTest
  @CsvSource({"0, 0 B", "1023, 1023 B", "1024, 1.0 KiB", "1536, 1.5 KiB", "1048576, 1.0 MiB",
      "5368709120, 5.0 GiB", "1125899906842624, 1024.0 TiB"})
  void bytes(long bytes, String shown) {
    assertEquals(shown, StatusTable.bytes(bytes));
  }

  @ParameterizedTest
  @CsvSource({"0, 0s", "59, 59s", "60, 1m00s", "750, 12m30s", "3599, 59m59s", "3600, 1h00m", "18000, 5h00m",
      "86399, 23h59m", "86400, 1d00h", "300000, 3d11h"})
  void uptime(long seconds, String shown) {
    assertEquals(shown, StatusTable.duration(seconds));
  }

  @Test
  void aMemberWithoutFiguresShowsWhyInPlaceOfThem() {
    NodeReport figures = new NodeReport("http://10.0.0.1:9000", "0.1.0 (commit abc)", 3725, false, 2,
        new NodeReport.Tier(10, 2048, 1 << 20), new NodeReport.Tier(2, 1024, 1 << 18),
        new NodeReport.Tier(5, 5 << 20, 1 << 30), 0, 0, 7, 0.25, 60, 3);
    ClusterReport report = new ClusterReport("http://10.0.0.1:9000", List.of(
        new ClusterReport.Member("http://10.0.0.1:9000", true, 0.6, figures, null),
        new ClusterReport.Member("http://10.0.0.22:9000", false, 0.0, null, "cannot connect: Connection refused")));

    List<String> lines = StatusTable.render(report).lines().toList();
    assertEquals("Cluster as http://10.0.0.1:9000 sees it: 2 members, 1 in its ring", lines.get(0));
    assertEquals("MEMBER                 STATE      OWNS   ENTRIES  MEMORY   DISK     HIT  LOADS/S  PEER-ERR  UPTIME  VERSION",
        lines.get(1));
    assertEquals("http://10.0.0.1:9000   not ready  60.0%  12       3.0 KiB  5.0 MiB  -    0.25     3         1h02m   0.1.0 (commit abc)",
        lines.get(2));
    assertEquals("http://10.0.0.22:9000  unhealthy  0.0%   unreachable: cannot connect: Connection refused", lines.get(3));
    assertEquals("0 of 2 members healthy, answering and ready.", lines.get(4));
    assertTrue(lines.get(6).contains("last 60 s"), lines.get(6));
  }
}
