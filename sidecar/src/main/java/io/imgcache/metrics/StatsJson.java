package io.imgcache.metrics;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

/**
 * Renders this node's own metrics ({@code imgcache_*}) as JSON: one member per metric, holding a
 * list of {@code {"labels": {...}, "value": n}} (histograms give {@code count} and {@code sum}).
 * The same numbers as {@code /_imgcache/metrics}, for people and scripts without a Prometheus parser.
 */
public final class StatsJson {
  private StatsJson() {}

  public static String render(Metrics metrics) {
    Json json = new Json().beginObject();
    for (MetricSnapshot snapshot : metrics.registry().scrape(name -> name.startsWith("imgcache_"))) {
      String name = snapshot.getMetadata().getPrometheusName();
      if (snapshot instanceof CounterSnapshot) {
        name += "_total";
      }
      json.name(name).beginArray();
      for (DataPointSnapshot point : snapshot.getDataPoints()) {
        json.beginObject().name("labels");
        labels(json, point.getLabels());
        if (point instanceof CounterSnapshot.CounterDataPointSnapshot c) {
          json.name("value").value(c.getValue());
        } else if (point instanceof GaugeSnapshot.GaugeDataPointSnapshot g) {
          json.name("value").value(g.getValue());
        } else if (point instanceof HistogramSnapshot.HistogramDataPointSnapshot h) {
          json.name("count").value(h.getCount()).name("sum").value(h.getSum());
        }
        json.endObject();
      }
      json.endArray();
    }
    return json.endObject().toString();
  }

  private static void labels(Json json, Labels labels) {
    json.beginObject();
    for (int i = 0; i < labels.size(); i++) {
      json.name(labels.getName(i)).value(labels.getValue(i));
    }
    json.endObject();
  }
}
