package io.imgcache.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A node's status JSON reads back as written, with and without a disk tier. */
class NodeReportTest {
  private static NodeReport report(NodeReport.Tier disk) {
    return new NodeReport("http://10.0.0.1:9000", "0.1.0 (commit abc)", 12.5, true, 3,
        new NodeReport.Tier(10, 2048, 1 << 20), new NodeReport.Tier(2, 1024, 1 << 18), disk, 100, 80, 20, 0.5, 60, 1);
  }

  @Test
  void aReportWithADiskTierReadsBackEqual() {
    NodeReport written = report(new NodeReport.Tier(5000, 5L << 30, 10L << 30));
    NodeReport read = NodeReport.read(Json.read(written.toString()));
    assertEquals(written, read);
    assertTrue(written.toString().contains("\"disk\":{\"entries\":5000,"), written.toString());
  }

  @Test
  void aReportWithoutADiskTierSaysNull() {
    NodeReport written = report(null);
    assertTrue(written.toString().contains("\"disk\":null"), written.toString());
    assertNull(NodeReport.read(Json.read(written.toString())).disk());
  }

  @Test
  void somethingElseIsRefusedNamingWhatIsMissing() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> NodeReport.read(Json.read("{\"url\": \"x\"}")));
    assertTrue(e.getMessage().startsWith("not a node status"), e.getMessage());
  }
}
