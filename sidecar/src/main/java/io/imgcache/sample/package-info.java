/** A stand-in for imgfit: an HTTP server that renders real, deterministic images of any size. */
package io.imgcache.sample;
