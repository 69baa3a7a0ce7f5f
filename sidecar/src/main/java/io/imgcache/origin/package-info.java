/** The client for this node's origin (the local imgfit): pooled, with timeouts and a size limit. */
package io.imgcache.origin;
