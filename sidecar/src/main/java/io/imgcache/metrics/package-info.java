/** The Prometheus registry of one node, the names of its metrics, and their text and JSON views. */
package io.imgcache.metrics;
